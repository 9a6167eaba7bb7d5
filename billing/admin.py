"""Payments in the staff admin: read-only, since every change goes through billing.services."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    CommissionRule,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentNotification,
    Posting,
    Refund,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


REFUND_FIELDS = ("out_refund_no", "amount", "status", "provider_refund_id", "reason", "created_at")


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = REFUND_FIELDS
    readonly_fields = REFUND_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "out_trade_no",
        "tenant",
        "order_number",
        "amount",
        "currency",
        "provider",
        "status",
        "refunded_amount",
        "created_at",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["out_trade_no", "order_number", "provider_trade_id"]
    inlines = [RefundInline]


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "notification_id",
        "event",
        "out_trade_no",
        "outcome",
    ]
    list_filter = ["provider", "event", "outcome"]
    search_fields = ["notification_id", "out_trade_no"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["out_refund_no", "payment", "amount", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["out_refund_no", "idempotency_key", "provider_refund_id"]


# --- ledger: read-only too; the database refuses changes to posted rows anyway ----------------


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    fields = readonly_fields = ("idempotency_key", "account", "amount", "currency")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "memo", "tenant", "order_number", "payment", "created_at"]
    search_fields = ["idempotency_key", "order_number", "memo"]
    inlines = [PostingInline]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["kind", "currency", "supplier", "tenant", "provider", "created_at"]
    list_filter = ["kind", "currency"]


@admin.register(CommissionRule)
class CommissionRuleAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "basis", "beneficiary", "created_at"]
