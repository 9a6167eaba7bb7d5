"""Price drop tasks: write counted shares to PostgreSQL in batches, start and end campaigns.

Both are idempotent. `pricedrop_flush_task` is sent (inside the shop, so tenant-schemas-celery
runs it there) a few seconds after a share counts, at most once per FLUSH_DELAY per campaign:
the shares of those seconds go in one batch. The minute task is the safety net: it starts and
ends what is due in every live shop and flushes whatever is still pending.
"""

from __future__ import annotations

import logging

import kombu.exceptions
import redis
from celery import shared_task
from django_tenants.utils import tenant_context

from .counting import FLUSH_DELAY

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, max_retries=3, default_retry_delay=10)
def pricedrop_flush_task(*, campaign_id: int) -> int:
    """Write CAMPAIGN_ID's counted shares (in the task's shop) to PostgreSQL."""
    from .services import pricedrop_flush

    return pricedrop_flush(campaign_id=campaign_id)


def pricedrop_flush_send(*, campaign_id: int, schema: str | None = None) -> None:
    """Send the write of CAMPAIGN_ID's counted shares, FLUSH_DELAY seconds from now (the share
    that found none on its way, counting.Visit.flush: several shares, one task). To the
    current shop, or to SCHEMA (the share edge runs outside any tenant: the task must go to
    the shop's schema, not to the connection's public one)."""
    headers = {"_schema_name": schema} if schema else None
    try:
        pricedrop_flush_task.apply_async(
            kwargs={"campaign_id": campaign_id}, countdown=FLUSH_DELAY, headers=headers
        )
    except (redis.RedisError, OSError, kombu.exceptions.OperationalError):
        logger.warning("pricedrop %s: flush not sent", campaign_id, exc_info=True)
        # The minute task flushes it anyway.


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
