"""Supplier webhook deliveries and the idempotency keys' purge (public schema)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from .machinery import delivery_attempt, idempotency_purge
from .models import SupplierDelivery, SupplierIdempotency, SupplierWebhook

logger = logging.getLogger(__name__)


def _notify_paused(webhook: SupplierWebhook) -> None:
    """Tell the supplier its subscription was paused (its account's e-mail)."""
    user = webhook.supplier.user  # type: ignore[attr-defined]
    if not user or not user.email:
        logger.warning("supplier webhook %s paused; the supplier has no e-mail", webhook.pk)
        return
    send_mail(
        _("VStore: your webhook was paused"),
        _(
            "Deliveries to %(url)s kept failing, so the subscription is paused. Fix the "
            "receiver, then resume it in the supplier portal (API)."
        )
        % {"url": webhook.url},
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        fail_silently=True,
    )


@shared_task(bind=True, acks_late=True, ignore_result=True)
def supplier_delivery_send_task(self, *, delivery_id: int, manual: bool = False) -> None:
    """Send one delivery; a failure schedules the next try (backoff, for 24 h)."""
    wait = delivery_attempt(
        model=SupplierDelivery,
        delivery_id=delivery_id,
        notify_paused=_notify_paused,
        manual=manual,
    )
    if wait:
        self.apply_async(kwargs={"delivery_id": delivery_id}, countdown=wait)


@shared_task(ignore_result=True)
def supplier_idempotency_purge_task() -> int:
    return idempotency_purge(model=SupplierIdempotency)
