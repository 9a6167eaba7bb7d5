"""The minute rollup of every live shop's Redis counts into its daily rows."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import tenant_context

from .rollup import shop_has_work, shop_rollup

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def analytics_rollup_task() -> int:
    """Every minute (beat), for each live shop with counts in Redis, roll them up (rollup.py:
    exactly once, resumable, safe to run twice at once); returns the events rolled up.

    One Redis round trip finds the shops with work, so a quiet minute costs no schema switch;
    a shop that fails is logged and keeps its counts in Redis for the next run.
    """
    from tenants.selectors import shops

    live = {tenant.pk: tenant for tenant in shops()}
    events = 0
    for shop_id in shop_has_work(list(live)):
        try:
            with tenant_context(live[shop_id]):
                events += shop_rollup(shop_id=shop_id).events
        except Exception:  # one broken shop must not stop every other shop's figures
            logger.exception("analytics rollup of shop %s failed", shop_id)
    return events
