"""Shop tasks: each takes ids, runs in the schema it was sent from, and is safe to repeat."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import tenant_context

from .analytics.tasks import analytics_rollup_task  # noqa: F401  (the worker finds it here)
from .fans.tasks import fan_requests_due_task  # noqa: F401  (the worker finds it here)
from .models import Order
from .orders.services import order_mark_paid, orders_expire_due, schemas_with_orders_due
from .sharing.tasks import sharing_rewards_grant_task  # noqa: F401  (the worker finds it here)

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, acks_late=True)
def order_paid_task(self, *, order_number: str, payment_id: int) -> str:
    """Mark the order paid (idempotent). A lost run is also caught at the order's deadline:
    order_expire finds the captured payment and marks the order paid instead."""
    try:
        return order_mark_paid(order_number=order_number, payment_id=payment_id).status
    except Order.DoesNotExist:
        # Not this shop's order (a payment opened outside the storefront): nothing to mark.
        logger.error("payment %s captured for unknown order %s", payment_id, order_number)
        return "unknown"
    except Exception as exc:  # a lost database connection, a deadlock victim: try again
        logger.exception("marking order %s paid failed", order_number)
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(ignore_result=True)
def orders_expire_sweep_task() -> int:
    """Every minute, in every live shop (suspended ones too: their reserved stock is everyone's),
    expire unpaid orders past their deadline; returns how many closed.

    One query finds the shops that have such orders, so a quiet minute costs one round trip
    instead of one per shop; a shop that fails is logged and the others still expire theirs.
    """
    from tenants.selectors import shops

    live = list(shops())
    due = schemas_with_orders_due(schemas=[t.schema_name for t in live])
    closed = 0
    for tenant in live:
        if tenant.schema_name not in due:
            continue
        try:
            with tenant_context(tenant):
                closed += orders_expire_due()
        except Exception:  # one broken shop must not keep every other shop's stock hostage
            logger.exception("expiring unpaid orders of %s failed", tenant.schema_name)
    return closed


@shared_task(bind=True, max_retries=5, acks_late=True)
def listing_prices_check_task(self, *, sku_id: int, change_id: int | None = None) -> int:
    """After new price terms of SKU_ID (storefront.hooks.price_terms_changed): flag this shop's
    items now priced outside the bounds, clear the flag of those back inside; returns how many
    were flagged and adds them to the price change's count. Safe to repeat: an item already
    flagged is not counted again."""
    from django.db import transaction

    from catalog.models import SKU
    from catalog.services.prices import price_change_flagged_add

    from .services import listing_items_flag_out_of_bounds, listing_items_unflag_in_bounds

    try:
        sku = SKU.objects.get(pk=sku_id)  # the bounds as they are now, not as sent
        with transaction.atomic():
            flagged = listing_items_flag_out_of_bounds(sku=sku)
            listing_items_unflag_in_bounds(sku=sku)
            if change_id is not None:
                price_change_flagged_add(change_id=change_id, flagged=flagged)
    except SKU.DoesNotExist:
        logger.error("price terms changed for unknown SKU %s", sku_id)
        return 0
    except Exception as exc:  # a lost connection, a deadlock victim: try again
        logger.exception("checking prices of SKU %s failed", sku_id)
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    return flagged
