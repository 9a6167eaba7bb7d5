"""Moving a shop's Redis counts into DailyCount / DailyVisitors: exactly once, resumable.

The method, per shop (keys in counting.py):

1. Take: for each day with a live hash, one Lua script (atomic in Redis) RENAMEs the live hash
   to a new batch key ``b:<day>.<random>``, adds the batch to ``pending`` and drops the day
   from ``days``. Events counted afterwards start a fresh live hash, so a batch never changes
   again once taken.
2. Apply: for each pending batch, one database transaction inserts the batch's key into
   RollupBatch (ON CONFLICT DO NOTHING) and, only if that row is new, adds the batch's counts to
   DailyCount (INSERT … ON CONFLICT DO UPDATE SET count = count + EXCLUDED.count), and the
   same counts summed over listings to DailyPageCount, which the dashboard reads.
3. Finish: delete the batch key and remove it from ``pending``.

Killed anywhere, the next run completes without counting twice: before step 2 commits the batch
is still pending and is applied; after it commits, the RollupBatch row says it is applied and
only step 3 is done. Two runs at once are safe too: the second insert of the same RollupBatch
key waits for the first transaction and then does nothing.

Visitors are not additive (a HyperLogLog is a set), so each day's count is read whole with
PFCOUNT and stored as GREATEST(stored, counted): running twice gives the same row.

Then the days of paid orders that changed or are missing are remade from the orders
(sales.py: whole days, so running twice is harmless too).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from .counting import client, field_parse, key, rollup_client
from .models import DailyPageCount, RollupBatch
from .sales import SCHECKED, SDIRTY, sales_rollup

logger = logging.getLogger(__name__)

# KEYS: live hash, batch key, pending set, days set; ARGV: batch id, day.
TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('SREM', KEYS[4], ARGV[2])
return 1
"""

UPSERT_COUNTS = """
INSERT INTO analytics_dailycount (day, event, page_id, listing_id, source, count)
SELECT %s, e, p, l, s, c
FROM unnest(%s::varchar[], %s::integer[], %s::integer[], %s::varchar[], %s::bigint[])
    AS t(e, p, l, s, c)
ON CONFLICT (day, event, page_id, listing_id, source)
DO UPDATE SET count = analytics_dailycount.count + EXCLUDED.count
"""

# The same batch summed over listings (DailyPageCount), in the same transaction.
UPSERT_PAGE_COUNTS = """
INSERT INTO analytics_dailypagecount (day, event, page_id, source, count)
SELECT %s, e, p, s, sum(c)
FROM unnest(%s::varchar[], %s::integer[], %s::varchar[], %s::bigint[]) AS t(e, p, s, c)
GROUP BY e, p, s
ON CONFLICT (day, event, page_id, source)
DO UPDATE SET count = analytics_dailypagecount.count + EXCLUDED.count
"""

UPSERT_VISITORS = """
INSERT INTO analytics_dailyvisitors (day, visitors) VALUES (%s, %s)
ON CONFLICT (day) DO UPDATE
SET visitors = GREATEST(analytics_dailyvisitors.visitors, EXCLUDED.visitors)
"""

# Applied batches are remembered long enough for any run that died before step 3 to finish.
BATCH_MEMORY = timedelta(days=2)


@dataclass
class RollupResult:
    batches: int = 0
    rows: int = 0
    events: int = 0
    visitor_days: int = 0
    sales_days: int = 0  # days of paid orders remade (sales.py)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def shop_has_work(shop_ids: list[int]) -> list[int]:
    """Of SHOP_IDS, those with anything in Redis to roll up, a day of paid orders marked
    changed, or the hourly check of their sales days due (sales.py): one round trip for all."""
    pipe = client().pipeline(transaction=False)
    for shop_id in shop_ids:
        names = ("days", "pending", "udays", SDIRTY)
        pipe.exists(*(key(shop_id, name) for name in names))
        pipe.exists(key(shop_id, SCHECKED))
    found = pipe.execute()
    return [shop_id for n, shop_id in enumerate(shop_ids) if found[2 * n] or not found[2 * n + 1]]


def batches_take(*, shop_id: int) -> int:
    """Step 1 for every day with a live hash; the number of batches taken."""
    redis = client()
    take = redis.register_script(TAKE)
    taken = 0
    for raw in redis.smembers(key(shop_id, "days")):
        day = _text(raw)
        batch = f"{day}.{uuid.uuid4().hex}"
        keys = [key(shop_id, f"c:{day}"), key(shop_id, f"b:{batch}")]
        keys += [key(shop_id, "pending"), key(shop_id, "days")]
        take(keys=keys, args=[batch, day])
        taken += 1
    return taken


def batch_apply(*, shop_id: int, batch: str, result: RollupResult) -> None:
    """Steps 2 and 3 for one batch, in the current shop's schema."""
    batch_commit(shop_id=shop_id, batch=batch, result=result)
    batch_forget(shop_id=shop_id, batch=batch)


def batch_commit(*, shop_id: int, batch: str, result: RollupResult) -> None:
    """Step 2: the batch's counts into DailyCount and DailyPageCount, once (RollupBatch
    remembers it)."""
    redis = rollup_client()
    batch_key = key(shop_id, f"b:{batch}")
    day = datetime.strptime(batch.split(".", 1)[0], "%Y%m%d").date()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_rollupbatch (key, applied_at) VALUES (%s, %s) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            [f"{shop_id}:{batch}", timezone.now()],
        )
        fresh = cursor.fetchone() is not None
        if fresh:
            columns: tuple[list, list, list, list, list] = ([], [], [], [], [])
            # HSCAN in chunks: a busy day's hash has hundreds of thousands of fields, and the
            # batch no longer changes, so reading it piecewise sees it whole.
            for field, value in redis.hscan_iter(batch_key, count=10_000):
                item = field_parse(_text(field))
                count = int(value)
                if item is None or count <= 0:
                    logger.warning("analytics: field %r of shop %s skipped", field, shop_id)
                    continue
                for column, part in zip(
                    columns,
                    (item.event, item.page_id, item.listing_id, item.source, count),
                    strict=True,
                ):
                    column.append(part)
                result.events += count
            if columns[0]:
                cursor.execute(UPSERT_COUNTS, [day, *columns])
                events, pages, _listings, sources, counts = columns
                cursor.execute(UPSERT_PAGE_COUNTS, [day, events, pages, sources, counts])
                result.rows += len(columns[0])
            result.batches += 1


def batch_forget(*, shop_id: int, batch: str) -> None:
    """Step 3: the applied batch's Redis copy goes."""
    pipe = client().pipeline(transaction=True)
    pipe.delete(key(shop_id, f"b:{batch}"))
    pipe.srem(key(shop_id, "pending"), batch)
    pipe.execute()


def visitors_store(*, shop_id: int, today: date, result: RollupResult) -> None:
    """Each day's HyperLogLog count into DailyVisitors; days before yesterday are then done."""
    redis = client()
    for raw in sorted(redis.smembers(key(shop_id, "udays"))):
        text = _text(raw)
        day = datetime.strptime(text, "%Y%m%d").date()
        seen = key(shop_id, f"u:{text}")
        visitors = int(redis.pfcount(seen))
        with connection.cursor() as cursor:
            cursor.execute(UPSERT_VISITORS, [day, visitors])
        result.visitor_days += 1
        # An event computed at 23:59:59 may land just after midnight: keep yesterday open.
        if day < today - timedelta(days=1):
            pipe = redis.pipeline(transaction=True)
            pipe.srem(key(shop_id, "udays"), text)
            pipe.delete(seen)
            pipe.execute()


def shop_rollup(*, shop_id: int, today: date | None = None) -> RollupResult:
    """Roll up everything SHOP has in Redis; run inside that shop's schema (tenant_context)."""
    result = RollupResult()
    batches_take(shop_id=shop_id)
    for raw in client().smembers(key(shop_id, "pending")):
        batch_apply(shop_id=shop_id, batch=_text(raw), result=result)
    visitors_store(shop_id=shop_id, today=today or timezone.localdate(), result=result)
    RollupBatch.objects.filter(applied_at__lt=timezone.now() - BATCH_MEMORY).delete()
    result.sales_days = sales_rollup(shop_id=shop_id, today=today)
    return result


def page_counts_remake(*, first: date, last: date) -> int:
    """DailyPageCount of the days FIRST..LAST made anew from DailyCount (for rows written into
    DailyCount directly, as the demo seed does); the rows made. Run in the shop's schema."""
    with transaction.atomic(), connection.cursor() as cursor:
        DailyPageCount.objects.filter(day__gte=first, day__lte=last).delete()
        cursor.execute(
            "INSERT INTO analytics_dailypagecount (day, event, page_id, source, count)"
            " SELECT day, event, page_id, source, sum(count) FROM analytics_dailycount"
            " WHERE day >= %s AND day <= %s GROUP BY day, event, page_id, source",
            [first, last],
        )
        return cursor.rowcount
