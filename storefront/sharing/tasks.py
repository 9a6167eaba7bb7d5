"""Hourly: every live shop grants the share rewards it owes (registered via storefront/tasks.py)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import tenant_context

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sharing_rewards_grant_task() -> int:
    """In every active shop, grant sharers the rewards their friends' orders earned once those
    orders' return windows closed; returns how many were granted. Safe to repeat: an order that
    earned a reward is never rewarded again.

    Suspended shops are skipped: their fans cannot use a coupon there, and a shop suspended for
    abuse must not keep handing out rewards; what they owe is granted once they are active again
    (within the reward horizon). A shop that fails is logged and the others still grant theirs.
    """
    from tenants.models import Tenant
    from tenants.selectors import shops

    from .rewards import share_rewards_grant

    granted = 0
    for tenant in shops().filter(state=Tenant.State.ACTIVE):
        try:
            with tenant_context(tenant):
                granted += share_rewards_grant()
        except Exception:  # one broken shop must not hold back every other shop's sharers
            logger.exception("granting share rewards in %s failed", tenant.schema_name)
    return granted
