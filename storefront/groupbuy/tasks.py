"""Group buys' tasks: take ids, run in the shop they were sent from, safe to repeat."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import tenant_context

from .services import groupbuys_close_due, team_settle

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def groupbuys_close_task() -> int:
    """Every minute, in every live shop: close the group buys and groups whose time is up and
    carry on any settlement a crash or a refusing provider left unfinished (each step is
    idempotent, so a run that overlaps another or follows a crash changes nothing twice)."""
    from tenants.selectors import shops

    from .models import GroupBuy

    visited = 0
    for tenant in shops():
        try:
            with tenant_context(tenant):
                # One probe for a quiet shop: a campaign keeps its stock until every group
                # and member of it is settled, so one not given back means work may be due.
                if GroupBuy.objects.filter(stock_returned=False).exists():
                    visited += groupbuys_close_due()
        except Exception:  # one broken shop must not hold every other shop's buyers
            logger.exception("closing group buys of %s failed", tenant.schema_name)
    return visited


@shared_task(bind=True, max_retries=5, acks_late=True)
def team_settle_task(self, *, team_id: int) -> str:
    """A fixed group filled up: settle its members and hand their orders to the suppliers."""
    try:
        return team_settle(team_id=team_id).status
    except Exception as exc:
        logger.exception("settling group %s failed", team_id)
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
