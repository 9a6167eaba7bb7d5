"""What billing calls when a shop's payment is captured (VSTORE_PAYMENT_CAPTURED_HOOK)."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from billing.models import Payment


def payment_captured(payment: Payment) -> None:
    """Hand the capture to the shop: a task in the shop's schema marks the order paid."""
    from .tasks import order_paid_task

    with tenant_context(payment.tenant):
        order_paid_task.delay(order_number=payment.order_number, payment_id=payment.pk)
