from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import PlatformCoupon, PlatformCouponUse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: budgets and spending change only through billing.coupons
    services (the console), whose checked updates keep spent within the budget."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlatformCoupon)
class PlatformCouponAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "kind", "status", "budget_fen", "spent_fen", "ends_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "code"]


@admin.register(PlatformCouponUse)
class PlatformCouponUseAdmin(ReadOnlyAdmin):
    list_display = ["coupon", "tenant", "order_number", "amount_fen", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_number", "coupon__code"]
