"""Supplier orders and returns in the staff admin: read-only (changes go through the services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.admin import ReadOnlyAdmin

from .models import FulfilmentEvent, ReturnCase, ReturnCaseLine, SupplierOrder, SupplierOrderLine


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LineInline(_ReadOnlyInline):
    model = SupplierOrderLine
    fields = (
        "line_ref",
        "title",
        "option_label",
        "quantity",
        "retail_price_fen",
        "supply_price_fen",
        "shipping_fen",
        "fee_fen",
        "commission_fen",
        "return_days",
        "returned_quantity",
        "refunded_quantity",
    )
    readonly_fields = fields


class EventInline(_ReadOnlyInline):
    model = FulfilmentEvent
    fk_name = "supplier_order"
    fields = (
        "created_at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "return_case",
        "detail",
    )
    readonly_fields = fields


@admin.register(SupplierOrder)
class SupplierOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "order_number",
        "tenant",
        "supplier",
        "status",
        "tracking_number",
        "delivered_at",
        "settled_at",
    ]
    list_filter = ["status"]
    search_fields = ["order_number", "tracking_number", "recipient", "phone"]
    inlines = [LineInline, EventInline]


class CaseLineInline(_ReadOnlyInline):
    model = ReturnCaseLine
    fields = (
        "line",
        "quantity",
        "refund_fen",
        "supply_fen",
        "fee_fen",
        "commission_fen",
    )
    readonly_fields = fields


@admin.register(ReturnCase)
class ReturnCaseAdmin(ReadOnlyAdmin):
    list_display = ["order_number", "tenant", "status", "refund_fen", "requested_at", "refunded_at"]
    list_filter = ["status"]
    search_fields = ["order_number", "provider_refund_id"]
    inlines = [CaseLineInline]
