"""Django admin for the catalog: a read-mostly view for platform superusers.

Decisions (vetting, suspension, status) go through the staff console so that they are checked
and recorded; here nothing can be deleted, because shops' listings point at these rows.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    SKU,
    AuditEntry,
    Category,
    PriceChange,
    Product,
    ShopListing,
    Supplier,
    SupplierDocument,
    VettingEvent,
)


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(NoDeleteAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Supplier)
class SupplierAdmin(ReadOnlyAdmin):
    list_display = ["company_name", "credit_code", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["company_name", "credit_code"]


class SkuInline(admin.TabularInline):
    model = SKU
    extra = 0
    can_delete = False
    readonly_fields = (
        "code",
        "options",
        "supply_price_fen",
        "suggested_retail_fen",
        "min_retail_fen",
        "max_retail_fen",
        "stock",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["title", "supplier", "vetting_status", "is_active", "is_suspended"]
    list_filter = ["vetting_status", "is_suspended", "is_featured"]
    search_fields = ["title", "supplier__company_name"]
    inlines = [SkuInline]


@admin.register(Category)
class CategoryAdmin(NoDeleteAdmin):
    list_display = ["name", "parent", "position", "is_active"]


for model in (SupplierDocument, VettingEvent, PriceChange, ShopListing, AuditEntry):
    admin.site.register(model, ReadOnlyAdmin)
