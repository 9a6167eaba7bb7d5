"""Background work for payments: the sandbox provider's notification sender, reconciliation
and refunds that wait for their provider."""

from __future__ import annotations

import logging

import requests
from celery import shared_task

from .models import SandboxTrade
from .payments import sandbox

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, acks_late=True)
def sandbox_notification_send(
    self, *, trade_id: int, event: str, notification_id: str, amount: int | None = None
) -> int:
    """POST one signed sandbox notification to the notify URL the payment was created with.

    Like a real provider: the same notification id on every attempt, a fresh timestamp and
    signature each time, retried with backoff until the receiver answers 200.
    """
    from django.conf import settings

    from .payments.registry import sandbox_enabled

    if not sandbox_enabled():  # switched off since it was queued: nothing may be "paid" now
        logger.warning("sandbox off: notification %s not sent", notification_id)
        return 0
    trade = SandboxTrade.objects.get(pk=trade_id)
    body = sandbox.notification_body(
        trade,
        event=event,
        merchant_id=settings.VSTORE_SANDBOX_MERCHANT_ID,
        notification_id=notification_id,
        amount=amount,
    )
    headers = sandbox.notification_sign(body, key=sandbox.sandbox_private_key())
    headers["Content-Type"] = "application/json"
    try:
        response = requests.post(trade.notify_url, data=body, headers=headers, timeout=10)
        status = response.status_code
    except requests.RequestException as exc:
        logger.warning("sandbox notification %s not delivered: %s", notification_id, exc)
        status = 0
    if status != 200:
        raise self.retry(countdown=min(2**self.request.retries * 5, 600))
    return status


@shared_task(bind=True, max_retries=5, acks_late=True)
def payment_reconcile_task(self, *, payment_id: int) -> str:
    """Query the provider for a payment whose notification has not come (see payment_reconcile)."""
    from .models import Payment
    from .payments.base import ProviderError
    from .services import payment_reconcile

    payment = Payment.objects.get(pk=payment_id)
    try:
        record = payment_reconcile(payment=payment)
    except ProviderError as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries * 30, 900)) from exc
    return record.outcome if record else "not paid"


@shared_task(bind=True, max_retries=8, acks_late=True)
def refund_submit_task(self, *, refund_id: int) -> str:
    """Ask the provider for a refund it could not be asked for at once (see refund_resubmit)."""
    from .payments.base import ProviderError
    from .services import refund_resubmit

    try:
        refund = refund_resubmit(refund_id=refund_id)
    except ProviderError as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries * 30, 1800)) from exc
    return refund.status


@shared_task
def payments_reconcile_sweep_task() -> int:
    """Beat, every few minutes: query the provider for open payments with no notification yet,
    and ask again for refunds still pending (their provider was down)."""
    from .services import payments_reconcile_due, refunds_pending_due

    due = payments_reconcile_due()
    for payment_id in due:
        payment_reconcile_task.delay(payment_id=payment_id)
    pending = refunds_pending_due()
    for refund_id in pending:
        refund_submit_task.delay(refund_id=refund_id)
    return len(due) + len(pending)
