"""Shop webhook deliveries (run in the shop's schema: tenant-schemas-celery stamps it) and the
idempotency keys' daily purge in every live shop."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from billing.supplierapi.machinery import delivery_attempt, idempotency_purge

from .models import ShopDelivery, ShopIdempotency, ShopWebhook

logger = logging.getLogger(__name__)


def _notify_paused(webhook: ShopWebhook) -> None:
    """Tell the shop's owners their subscription was paused."""
    from storefront.team.selectors import owners_q

    emails = sorted(
        set(
            get_user_model()
            .objects.filter(owners_q(), is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not emails:
        logger.warning("shop webhook %s paused; no owner has an e-mail", webhook.pk)
        return
    send_mail(
        _("VStore: your webhook was paused"),
        _(
            "Deliveries to %(url)s kept failing, so the subscription is paused. Fix the "
            "receiver, then resume it in your shop's admin (API)."
        )
        % {"url": webhook.url},
        settings.DEFAULT_FROM_EMAIL,
        emails,
        fail_silently=True,
    )


@shared_task(bind=True, acks_late=True, ignore_result=True)
def shop_delivery_send_task(self, *, delivery_id: int, manual: bool = False) -> None:
    """Send one delivery of this shop; a failure schedules the next try (backoff, for 24 h)."""
    wait = delivery_attempt(
        model=ShopDelivery, delivery_id=delivery_id, notify_paused=_notify_paused, manual=manual
    )
    if wait:
        self.apply_async(kwargs={"delivery_id": delivery_id}, countdown=wait)


@shared_task(ignore_result=True)
def api_idempotency_purge_task() -> int:
    """Daily: forget Idempotency-Keys older than 24 h, suppliers' and every live shop's."""
    from billing.supplierapi.tasks import supplier_idempotency_purge_task
    from tenants.selectors import shops

    purged = supplier_idempotency_purge_task()
    for tenant in shops():
        try:
            with tenant_context(tenant):
                purged += idempotency_purge(model=ShopIdempotency)
        except Exception:
            logger.exception("purging idempotency keys of %s failed", tenant.schema_name)
    return purged
