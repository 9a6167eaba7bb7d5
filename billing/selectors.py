"""Reads for payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Payment

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tenants.models import Tenant


def payments_for_order(*, tenant: Tenant, order_number: str) -> QuerySet[Payment]:
    """A shop order's payments, newest first (a buyer may have started more than one)."""
    return Payment.objects.filter(tenant=tenant, order_number=order_number).order_by("-pk")


def payment_captured_for_order(*, tenant: Tenant, order_number: str) -> Payment | None:
    """The payment that paid the order, if any."""
    return (
        payments_for_order(tenant=tenant, order_number=order_number)
        .filter(
            status__in=[
                Payment.Status.CAPTURED,
                Payment.Status.PARTIALLY_REFUNDED,
                Payment.Status.REFUNDED,
            ]
        )
        .first()
    )
