"""Price drop tasks: write counted shares to PostgreSQL in batches, start and end campaigns.

Both are idempotent. `pricedrop_flush_task` is sent (inside the shop, so tenant-schemas-celery
runs it there) a few seconds after a share counts, at most once per FLUSH_DELAY per campaign:
the shares of those seconds go in one batch. The minute task is the safety net: it starts and
ends what is due in every live shop and flushes whatever is still pending.
"""

from __future__ import annotations

import logging

import redis
from celery import shared_task
from django_tenants.utils import tenant_context

logger = logging.getLogger(__name__)

FLUSH_DELAY = 5  # seconds a batch collects counted shares


@shared_task(ignore_result=True, max_retries=3, default_retry_delay=10)
def pricedrop_flush_task(*, campaign_id: int) -> int:
    """Write CAMPAIGN_ID's counted shares (in the task's shop) to PostgreSQL."""
    from .services import pricedrop_flush

    return pricedrop_flush(campaign_id=campaign_id)


def pricedrop_flush_soon(
    *, campaign_id: int, shop_id: int | None = None, schema: str | None = None
) -> None:
    """Send one flush for CAMPAIGN_ID within FLUSH_DELAY seconds (several shares, one task).

    In the current shop, or in SHOP_ID / SCHEMA when given (the share edge runs outside any
    tenant: the task is sent to that schema, not to the connection's public one)."""
    from . import counting

    headers = {"_schema_name": schema} if schema else None
    try:
        flushq = counting.key(campaign_id, "flushq", shop_id=shop_id)
        if counting.client().set(flushq, "1", nx=True, ex=FLUSH_DELAY):
            pricedrop_flush_task.apply_async(
                kwargs={"campaign_id": campaign_id}, countdown=FLUSH_DELAY, headers=headers
            )
    except (redis.RedisError, OSError):  # the minute task flushes it anyway
        logger.warning("pricedrop %s: flush not sent", campaign_id, exc_info=True)


@shared_task(ignore_result=True)
def pricedrops_tick_task() -> int:
    """Every minute, in every live shop: start and end the price drops that are due and flush
    the running ones' counted shares. Returns how many were started or ended."""
    from tenants.selectors import shops

    from .models import PriceDrop
    from .services import pricedrop_flush, pricedrops_due_run

    changed = 0
    for tenant in shops():
        try:
            with tenant_context(tenant):
                running = list(
                    PriceDrop.objects.filter(status=PriceDrop.Status.RUNNING).values_list(
                        "pk", flat=True
                    )
                )
                for campaign_id in running:
                    pricedrop_flush(campaign_id=campaign_id)
                started, ended = pricedrops_due_run()
                changed += started + ended
        except Exception:  # one broken shop must not stop every other shop's campaigns
            logger.exception("price drops in %s failed", tenant.schema_name)
    return changed
