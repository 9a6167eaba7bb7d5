"""The order writer: records the gate's wins in PostgreSQL, a batch per transaction.

The gate pushes every win onto the sale's Redis stream (gate.py). A drain reads it through the
stream's consumer group under one consumer name, so a writer killed mid-batch leaves its entries
pending, and the next drain (any process) takes them again first. Each batch is one transaction:
insert the grabs idempotently (unique per sale and idem key: a duplicate message or a re-read
batch inserts nothing), add the inserted count to the sale's `units_ordered` with a checked
update (the SKU's row is never touched), commit, then acknowledge. Acknowledged entries stay on
the stream until the sale's keys expire, so a gate rebuilt during the rush still sees them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import redis
from django.db import connection, transaction
from django.db.models import F
from django_tenants.utils import schema_context

from . import gate
from .models import FlashGrab, FlashSale

logger = logging.getLogger(__name__)

CONSUMER = "w"  # one name for every writer: a dead writer's pending entries are anyone's
BATCH_MAX = 5000


def _parse(entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> list[tuple[bytes, list[str]]]:
    out = []
    for entry_id, fields in entries:
        raw = fields.get(b"g", b"").decode()
        parts = raw.split("|")
        if len(parts) == 4 and parts[0].isdigit() and parts[2].isdigit() and parts[3].isdigit():
            out.append((entry_id, parts))
        else:
            out.append((entry_id, []))  # not a grab: acknowledged and skipped
    return out


def _read(stream: str, batch: int) -> list[tuple[bytes, list[str]]]:
    client = gate.client()
    try:
        # Pending first (a dead writer's batch), then new entries.
        for start in ("0", ">"):
            got: Any = client.xreadgroup(gate.GROUP, CONSUMER, {stream: start}, count=batch)
            entries = got[0][1] if got else []
            if entries:
                return _parse(entries)
    except redis.ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        gate._stream_group_ensure(stream)
    return []


def _record(*, sale_id: int, rows: list[list[str]]) -> int:
    """Insert ROWS (fan, idem, won ms, deadline ms) for SALE; how many were new. The caller's
    transaction."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        # Only fans of this shop (a gate fed a foreign id records nothing for it).
        cursor.execute(
            f"""INSERT INTO {FlashGrab._meta.db_table}
                (sale_id, fan_id, idem_key, status, order_number, won_at, pay_deadline, created_at)
            SELECT %s, t.f, t.k, 'won', '', to_timestamp(t.w / 1000.0), to_timestamp(t.d / 1000.0),
                   now()
            FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bigint[]) AS t(f, k, w, d)
            JOIN storefront_fan fan ON fan.id = t.f
            ON CONFLICT (sale_id, idem_key) DO NOTHING RETURNING id""",  # noqa: S608 (our table)
            [
                sale_id,
                [int(r[0]) for r in rows],
                [r[1] for r in rows],
                [int(r[2]) for r in rows],
                [int(r[3]) for r in rows],
            ],
        )
        inserted = len(cursor.fetchall())
    if inserted:
        # The database refuses to pass the quantity (CHECK flash_sale_never_oversold) whatever
        # the gate did; the checked update says so first, with a clear error.
        done = FlashSale.objects.filter(
            # Units that went back to the SKU at the end are not the sale's any more.
            pk=sale_id,
            units_ordered__lte=F("quantity") - F("units_returned") - inserted,
        ).update(units_ordered=F("units_ordered") + inserted)
        if not done:
            raise OverflowError(f"flash sale {sale_id}: {inserted} more grabs than units")
    return inserted


def _record_one_by_one(*, sale_id: int, rows: list[list[str]]) -> int:
    """A batch that would pass the quantity (only if the gate was wrong): record what fits,
    one grab per savepoint; the rest stay won in the gate only, for reconciliation to release."""
    inserted = 0
    for row in rows:
        try:
            with transaction.atomic():
                inserted += _record(sale_id=sale_id, rows=[row])
        except OverflowError:
            logger.error("flash sale %s: grab %s has no unit left in the database", sale_id, row[1])
    return inserted


def flash_writer_drain(*, schema: str, sale_id: int, batch: int = 500) -> int:
    """Record every win waiting on SALE's stream in SCHEMA, BATCH at a time; returns how many
    grabs were newly recorded. Idempotent and safe to run in several processes at once."""
    batch = max(1, min(int(batch), BATCH_MAX))
    stream = gate.keys(schema, sale_id)["s"]
    total = 0
    with schema_context(schema):
        if not FlashSale.objects.filter(pk=sale_id).exists():
            return 0
        while True:
            entries = _read(stream, batch)
            if not entries:
                return total
            rows = [parts for _entry_id, parts in entries if parts]
            try:
                with transaction.atomic():
                    total += _record(sale_id=sale_id, rows=rows)
            except OverflowError:
                total += _record_one_by_one(sale_id=sale_id, rows=rows)
            gate.client().xack(stream, gate.GROUP, *[entry_id for entry_id, _ in entries])
