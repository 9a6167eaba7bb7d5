"""The fans' data tasks: deletion requests are carried out when due, in every shop, by beat,
and the parcels still moving at a deletion forget the address once delivered.

PIPL art. 47 and 50 (see services.py): a fan's deletion request is done within DELETION_DAYS
without anyone having to remember it. Safe to repeat: a done request is never done again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

from celery import shared_task
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from .services import fan_requests_complete_due

logger = logging.getLogger(__name__)

CHUNK = 200
_PLAIN_SCHEMA = re.compile(r"[a-z0-9_]+")


def schemas_with_requests_due(*, schemas: Sequence[str], now: datetime | None = None) -> set[str]:
    """Which of SCHEMAS hold a pending deletion request that is due: one query per CHUNK shops
    (an index probe each), so an idle hour costs a round trip, not one per shop. A chunk that
    cannot be read counts as due: the visit of each shop then decides and logs."""
    now = now or timezone.now()
    found = {schema for schema in schemas if not _PLAIN_SCHEMA.fullmatch(schema)}
    plain = [schema for schema in schemas if schema not in found]
    for start in range(0, len(plain), CHUNK):
        chunk = plain[start : start + CHUNK]
        sql = " UNION ALL ".join(
            f'SELECT %s WHERE EXISTS (SELECT 1 FROM "{schema}".storefront_fandatarequest '  # noqa: S608
            "WHERE state = 'pending' AND kind = 'delete' AND due_at <= %s)"
            for schema in chunk
        )
        params: list[str | datetime] = []
        for schema in chunk:
            params += [schema, now]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                found.update(row[0] for row in cursor.fetchall())
        except DatabaseError:
            logger.exception("looking for fans' requests due in %d shops failed", len(chunk))
            found.update(chunk)
    return found


@shared_task(ignore_result=True)
def fan_requests_due_task() -> int:
    """Every hour, in every live shop: erase the personal information of fans whose deletion
    request is due; returns how many requests were done. One broken shop is logged and the
    others still do theirs."""
    from tenants.selectors import shops

    live = list(shops())
    due = schemas_with_requests_due(schemas=[t.schema_name for t in live])
    done = 0
    for tenant in live:
        if tenant.schema_name not in due:
            continue
        try:
            with tenant_context(tenant):
                done += fan_requests_complete_due()
        except Exception:
            logger.exception("fans' deletion requests of %s failed", tenant.schema_name)
    return done


@shared_task(ignore_result=True)
def fans_parcels_erase_task() -> int:
    """Every hour: a parcel that was on its way when its buyer was erased keeps her address
    only until it is delivered or cancelled (billing.erasure); this empties those now settled.
    Billing's public rows, all shops in one query (no schema switch); returns how many."""
    from billing.erasure import parcels_erase_settled

    done = parcels_erase_settled()
    if done:
        logger.info("addresses of %d delivered parcels of erased buyers erased", done)
    return done


@shared_task(bind=True, max_retries=3, acks_late=True)
def fans_coupon_send_task(self, *, coupon_id: int, fan_ids: list[int]) -> int:
    """Send the coupon to the fans the creator chose (a segment of her list), in the shop it
    was sent from; returns how many got it. Repeating it gives nobody a second coupon."""
    from .services import fans_coupon_send

    try:
        sent, skipped = fans_coupon_send(coupon_id=coupon_id, fan_ids=fan_ids)
    except Exception as exc:  # a lost connection, a deadlock victim: try again
        logger.exception("sending coupon %s to %d fans failed", coupon_id, len(fan_ids))
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    logger.info("coupon %s sent to %d fans, %d skipped", coupon_id, sent, skipped)
    return sent
