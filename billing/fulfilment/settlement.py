"""Settlement: supplier orders whose return windows have all closed make their money available.

The creator's commission moves from pending to available (for payout), the supplier's payable
to available. Each supplier order is settled once (posting key "settle:<id>"); batches skip
rows another run or a return in progress has locked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from billing.ledger import AccountRef, EntrySpec, Line, entries_post_many
from billing.models import Payment

logger = logging.getLogger(__name__)

SETTLE_BATCH = 5000

# Candidates, read once without locks: re-running a LIMIT-ed scan per batch would walk the
# partial index's entries of the orders just settled (dead until vacuum) again and again.
_DUE_SQL = """
    SELECT so.id FROM fulfilment_supplierorder so
     WHERE so.status = 'delivered' AND so.settled_at IS NULL AND so.returns_close_at <= %s
       AND so.id %% %s = %s
     ORDER BY so.id
"""

# A batch of candidates, locked; rows another transaction holds (a return being opened or
# received, a concurrent run) are skipped, and every condition is checked again under the lock.
_LOCK_SQL = """
    SELECT so.id FROM fulfilment_supplierorder so
     WHERE so.id = ANY(%s)
       AND so.status = 'delivered' AND so.settled_at IS NULL AND so.returns_close_at <= %s
       AND NOT EXISTS (SELECT 1 FROM fulfilment_returncase rc
                        WHERE rc.supplier_order_id = so.id
                          AND rc.status IN ('requested', 'received'))
     ORDER BY so.id
     FOR UPDATE OF so SKIP LOCKED
"""

# What each due supplier order still owes after its refunded returns: the supplier's part
# (supply × qty + shipping, less what returns reversed) and the creator's commission.
_REMAINING_SQL = """
    WITH l AS (
        SELECT supplier_order_id,
               sum(supply_price_fen::bigint * quantity + shipping_fen) AS supply,
               sum(commission_fen::bigint) AS commission
          FROM fulfilment_supplierorderline
         WHERE supplier_order_id = ANY(%s)
         GROUP BY supplier_order_id
    ), r AS (
        SELECT rc.supplier_order_id,
               sum(rcl.supply_fen) AS supply,
               sum(rcl.commission_fen) AS commission
          FROM fulfilment_returncase rc
          JOIN fulfilment_returncaseline rcl ON rcl.case_id = rc.id
         WHERE rc.supplier_order_id = ANY(%s) AND rc.status = 'refunded'
         GROUP BY rc.supplier_order_id
    ), s AS (
        SELECT supplier_order_id, sum(shipping_refund_fen) AS shipping
          FROM fulfilment_returncase
         WHERE supplier_order_id = ANY(%s) AND status = 'refunded'
         GROUP BY supplier_order_id
    )
    SELECT so.id, so.tenant_id, so.supplier_id, so.order_number, so.currency, so.payment_id,
           l.supply - coalesce(r.supply, 0) - coalesce(s.shipping, 0),
           l.commission - coalesce(r.commission, 0)
      FROM fulfilment_supplierorder so
      JOIN l ON l.supplier_order_id = so.id
      LEFT JOIN r ON r.supplier_order_id = so.id
      LEFT JOIN s ON s.supplier_order_id = so.id
     WHERE so.id = ANY(%s)
"""


def settlement_run(
    *,
    now: datetime | None = None,
    batch_size: int = SETTLE_BATCH,
    shard: int = 0,
    shards: int = 1,
) -> int:
    """Settle every delivered supplier order whose return windows have all closed and that has
    no return in progress; returns how many were settled.

    Per supplier order, once (key "settle:<id>"), one entry:
        debit  creator commission pending     credit creator commission available
        debit  supplier payable               credit supplier available
    for what is left after refunded returns; then settled_at is set. Batches of BATCH_SIZE
    orders, each one transaction posting through `entries_post_many`; rows another run has
    locked are skipped (two runs at once settle each order once).
    SHARD of SHARDS takes the orders whose id % SHARDS == SHARD, so SHARDS workers (Celery
    tasks, threads) settle a large backlog side by side on disjoint rows.
    """
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of {shards}")
    from tenants.models import Tenant

    now = now or timezone.now()
    settled = 0
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, [now, shards, shard])
        due = [row[0] for row in cursor.fetchall()]
    refs: dict[tuple[str, int, str], AccountRef] = {}

    def ref(kind: str, owner: int, currency: str) -> AccountRef:
        # 4 refs an entry, 200,000 for a big run: made once per owner, not once per posting.
        key = (kind, owner, currency)
        if key not in refs:
            refs[key] = getattr(AccountRef, kind)(owner, currency)
        return refs[key]

    for start in range(0, len(due), batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [due[start : start + batch_size], now])
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                continue
            cursor.execute(_REMAINING_SQL, [ids, ids, ids, ids])
            specs = []
            for (
                so_id,
                tenant_id,
                supplier_id,
                number,
                currency,
                payment_id,
                supply,
                commission,
            ) in cursor.fetchall():
                lines: list[Line] = []
                if commission:
                    lines += [
                        (ref("commission_pending", tenant_id, currency), int(commission)),
                        (ref("commission_available", tenant_id, currency), -int(commission)),
                    ]
                if supply:
                    lines += [
                        (ref("supplier_payable", supplier_id, currency), int(supply)),
                        (ref("supplier_available", supplier_id, currency), -int(supply)),
                    ]
                if lines:
                    specs.append(
                        EntrySpec(
                            key=f"settle:{so_id}",
                            lines=lines,
                            memo=f"settle {number} (return window closed)",
                            tenant=Tenant(pk=tenant_id),
                            order_number=number,
                            payment=Payment(pk=payment_id),
                        )
                    )
            entries_post_many(entries=specs)
            cursor.execute(
                "UPDATE fulfilment_supplierorder SET settled_at = %s, updated_at = %s"
                " WHERE id = ANY(%s)",
                [now, now, ids],
            )
            settled += len(ids)
    if settled:
        logger.info("settled %d supplier orders", settled)
    return settled
