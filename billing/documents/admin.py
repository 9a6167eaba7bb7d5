"""Statements and invoices in the staff admin, read-only: they are made by their services."""

from __future__ import annotations

from django.contrib import admin

from billing.admin import ReadOnlyAdmin

from .models import Invoice, Statement


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("month", "kind", "tenant", "supplier", "status", "version", "rendered_at")
    list_filter = ("kind", "status", "month")
    search_fields = ("tenant__name", "tenant__schema_name", "supplier__company_name")
    list_select_related = ("tenant", "supplier")
    date_hierarchy = "month"


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("order_number", "tenant", "title", "taxpayer_id", "total_fen", "status")
    list_filter = ("status",)
    search_fields = ("order_number", "title", "taxpayer_id", "email")
    list_select_related = ("tenant",)
