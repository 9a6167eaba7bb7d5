from __future__ import annotations

from django.contrib import admin

from .models import Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "schema_name", "is_template", "created_at"]
    search_fields = ["name", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "is_template", "created_at"]
    inlines = [DomainInline]
