"""A shop's paid orders rolled up by day, so the dashboard reads ≤ 90 day rows, not the orders.

What is stored (models.py): per day, the paid orders, their GMV and how many came through a
share link (SalesDay, one row per day rolled up, zero days too); per day and article, orders
and GMV (PageSalesDay, from Order.source_page_id); per day and listing, orders, units and goods
sold (ListingSalesDay). A day is always remade whole from the orders, in one transaction, never
incremented: remaking a day twice, or two rollups at once, gives the same rows.

Why the figures stay exact (the dashboard reads `sales(period=...)`):
- today and yesterday (LIVE_DAYS) are always read from the orders: they still change (a
  payment captured just before midnight is marked paid just after);
- so is any day without its SalesDay row (not rolled up yet: a new shop, the day that just
  left LIVE_DAYS) and any day marked changed (a "dirty" day: below);
- a paid order whose paid day is older than LIVE_DAYS (a capture marked paid late) marks its
  day dirty where the order turns paid (counting.order_paid_count): the day is read from the
  orders until the next rollup remakes it (Redis set SDIRTY);
- a paid order that stops being paid later (a failed group buy refunds and cancels its
  members' orders) changes its day's count of paid orders: the hourly check (sales_check)
  compares each stored day's count with the orders' own (an index scan of (status, paid_at))
  and remakes the days that differ. It is also the safety net if Redis lost a dirty mark.

The minute rollup (rollup.shop_rollup) remakes the dirty days and the days missing their row,
and runs the check when it has not run for an hour (Redis key SCHECKED); tasks.py visits a
shop for it even when no event was counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from storefront.models import Order, OrderLine

from .counting import client, day_text, key
from .models import ListingSalesDay, PageSalesDay, SalesDay

# Today and yesterday are read from the orders, whatever is stored.
LIVE_DAYS = 2
# How far back the rollup makes rows (the dashboard's longest period).
ROLL_DAYS = 90
SDIRTY = "sdirty"  # set of YYYYMMDD: stored days whose orders changed
SCHECKED = "schecked"  # present for an hour after sales_check ran
CHECK_SECONDS = 3600
DIRTY_TTL = 8 * 86_400


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_tz())


def live_first(today: date | None = None) -> date:
    """The first day that is always read from the orders."""
    return (today or timezone.localdate()) - timedelta(days=LIVE_DAYS - 1)


# --- reading (the dashboard) ----------------------------------------------------------------------


@dataclass
class DayFigures:
    orders: int = 0
    gmv_fen: int = 0
    shared: int = 0


@dataclass
class PageSales:
    orders: int = 0
    gmv_fen: int = 0


@dataclass
class ListingSales:
    orders: int = 0
    units: int = 0
    gmv_fen: int = 0


@dataclass
class Sales:
    """A set of days' paid orders: per day, per article (page id), per listing."""

    days: dict[date, DayFigures] = field(default_factory=dict)
    pages: dict[int, PageSales] = field(default_factory=lambda: defaultdict(PageSales))
    listings: dict[int, ListingSales] = field(default_factory=lambda: defaultdict(ListingSales))


_TABLE = Order._meta.db_table
_LINES = OrderLine._meta.db_table
_DAY = "(o.paid_at AT TIME ZONE %(tz)s)::date"
_PAID_ON = f"""
    o.status = %(paid)s AND o.paid_at >= %(start)s AND o.paid_at < %(end)s
    AND {_DAY} = ANY(%(days)s)
"""
# Per day: orders, GMV, share-link orders. Per day and article: orders and GMV.
DAYS_SQL = f"""
    SELECT {_DAY}, coalesce(o.source_page_id, 0), count(*), coalesce(sum(o.total_fen), 0),
           count(o.share_link_id)
      FROM {_TABLE} o WHERE {_PAID_ON}
     GROUP BY 1, 2
"""  # noqa: S608 (the models' own table names; every value is a parameter)
# Per day and listing: orders, units, goods after coupons (delivery is the order's).
LISTINGS_SQL = f"""
    SELECT {_DAY}, l.listing_id, count(DISTINCT l.order_id), sum(l.quantity),
           sum(l.retail_price_fen * l.quantity - l.creator_discount_fen - l.platform_discount_fen)
      FROM {_TABLE} o JOIN {_LINES} l ON l.order_id = o.id
     WHERE {_PAID_ON}
     GROUP BY 1, 2
"""  # noqa: S608


def _params(days: list[date]) -> dict[str, Any]:
    return {
        "tz": settings.TIME_ZONE,
        "paid": Order.Status.PAID.value,
        "start": _start(min(days)),
        "end": _start(max(days) + timedelta(days=1)),
        "days": days,
    }


def _from_orders(days: list[date], sales: Sales, *, listings: bool) -> None:
    """Add DAYS' paid orders, read from the orders themselves, to SALES."""
    if not days:
        return
    params = _params(days)
    for day in days:
        sales.days.setdefault(day, DayFigures())
    with connection.cursor() as cursor:
        cursor.execute(DAYS_SQL, params)
        for day, page_id, n, gmv, shared in cursor.fetchall():
            figures = sales.days[day]
            figures.orders += n
            figures.gmv_fen += int(gmv)
            figures.shared += shared
            if page_id:
                sales.pages[page_id].orders += n
                sales.pages[page_id].gmv_fen += int(gmv)
        if listings:
            cursor.execute(LISTINGS_SQL, params)
            for _day, listing_id, n, units, gmv in cursor.fetchall():
                row = sales.listings[listing_id]
                row.orders += n
                row.units += int(units)
                row.gmv_fen += int(gmv)


def dirty_days(shop_id: int) -> set[date]:
    """Stored days marked changed (read from the orders until remade). Redis down: none, and
    the hourly check still catches what changed."""
    try:
        raw = client().smembers(key(shop_id, SDIRTY))
    except redis.RedisError:
        return set()
    days = set()
    for value in raw:
        text = value.decode() if isinstance(value, bytes) else value
        try:
            days.add(datetime.strptime(text, "%Y%m%d").date())
        except ValueError:
            continue
    return days


def sales(*, days: list[date], shop_id: int, listings: bool = True) -> Sales:
    """DAYS' paid orders: stored rows where a day is rolled up and unchanged, the orders
    themselves for the rest (see the module's doc). Run in the shop's schema."""
    result = Sales()
    if not days:
        return result
    first_live = live_first()
    dirty = dirty_days(shop_id)
    candidates = [d for d in days if d < first_live and d not in dirty]
    stored: set[date] = set()
    if candidates:
        for day_row in SalesDay.objects.filter(day__in=candidates):
            result.days[day_row.day] = DayFigures(
                day_row.orders, day_row.gmv_fen, day_row.shared_orders
            )
            stored.add(day_row.day)
    if stored:
        for page_id, orders, gmv in (
            PageSalesDay.objects.filter(day__in=stored)
            .values_list("page_id")
            .annotate(o=Sum("orders"), g=Sum("gmv_fen"))
            .order_by()
        ):
            result.pages[page_id].orders += int(orders)
            result.pages[page_id].gmv_fen += int(gmv)
        if listings:
            for listing_id, orders, units, gmv in (
                ListingSalesDay.objects.filter(day__in=stored)
                .values_list("listing_id")
                .annotate(o=Sum("orders"), u=Sum("units"), g=Sum("gmv_fen"))
                .order_by()
            ):
                row = result.listings[listing_id]
                row.orders += int(orders)
                row.units += int(units)
                row.gmv_fen += int(gmv)
    _from_orders([d for d in days if d not in stored], result, listings=listings)
    return result


# --- writing (the rollup) -------------------------------------------------------------------------

DELETE_SQL = "DELETE FROM {table} WHERE day = ANY(%(days)s)"
INSERT_DAYS_SQL = f"""
    INSERT INTO {SalesDay._meta.db_table} (day, orders, gmv_fen, shared_orders, rolled_at)
    SELECT d, coalesce(s.n, 0), coalesce(s.g, 0), coalesce(s.sh, 0), %(now)s
      FROM unnest(%(days)s::date[]) AS d
      LEFT JOIN (
        SELECT {_DAY} AS day, count(*) AS n, sum(o.total_fen) AS g, count(o.share_link_id) AS sh
          FROM {_TABLE} o WHERE {_PAID_ON} GROUP BY 1
      ) s ON s.day = d
"""  # noqa: S608
INSERT_PAGES_SQL = f"""
    INSERT INTO {PageSalesDay._meta.db_table} (day, page_id, orders, gmv_fen)
    SELECT {_DAY}, o.source_page_id, count(*), sum(o.total_fen)
      FROM {_TABLE} o WHERE {_PAID_ON} AND o.source_page_id IS NOT NULL
     GROUP BY 1, 2
"""  # noqa: S608
INSERT_LISTINGS_SQL = f"""
    INSERT INTO {ListingSalesDay._meta.db_table} (day, listing_id, orders, units, gmv_fen)
    {LISTINGS_SQL}
"""


def sales_days_roll(*, days: Iterable[date]) -> int:
    """Remake DAYS' rows from the orders (all three tables, one transaction); returns how many
    days. Two rollups of one shop at once take turns (a transaction-scoped advisory lock on
    the schema's name), so neither sees the other's half-made days."""
    days = sorted(set(days))
    if not days:
        return 0
    params = _params(days) | {"now": timezone.now()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('analytics.sales:' || current_schema()))"
        )
        for model in (SalesDay, PageSalesDay, ListingSalesDay):
            cursor.execute(DELETE_SQL.format(table=model._meta.db_table), params)
        cursor.execute(INSERT_DAYS_SQL, params)
        cursor.execute(INSERT_PAGES_SQL, params)
        cursor.execute(INSERT_LISTINGS_SQL, params)
    return len(days)


CHECK_SQL = f"""
    SELECT {_DAY}, count(*) FROM {_TABLE} o
     WHERE o.status = %(paid)s AND o.paid_at >= %(start)s AND o.paid_at < %(end)s
     GROUP BY 1
"""  # noqa: S608


def sales_check(*, today: date | None = None) -> list[date]:
    """Stored days (of the last ROLL_DAYS) whose count of paid orders no longer matches the
    orders' own: a paid order was cancelled since (or a dirty mark was lost)."""
    first, last = _roll_range(today)
    if first > last:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            CHECK_SQL,
            {
                "tz": settings.TIME_ZONE,
                "paid": Order.Status.PAID.value,
                "start": _start(first),
                "end": _start(last + timedelta(days=1)),
            },
        )
        actual = dict(cursor.fetchall())
    stored = dict(
        SalesDay.objects.filter(day__gte=first, day__lte=last).values_list("day", "orders")
    )
    return [day for day, orders in stored.items() if actual.get(day, 0) != orders]


def _roll_range(today: date | None) -> tuple[date, date]:
    last = live_first(today) - timedelta(days=1)
    return last - timedelta(days=ROLL_DAYS - LIVE_DAYS - 1), last


def days_missing(*, today: date | None = None) -> list[date]:
    """Days of the last ROLL_DAYS before LIVE_DAYS without their row (one index read)."""
    first, last = _roll_range(today)
    have = set(SalesDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day not in have]


def sales_day_dirty(*, shop_id: int, day: date) -> None:
    """Mark DAY of SHOP changed: read from the orders until the rollup remakes it. Days still
    live need no mark. Best-effort (the hourly check is the safety net)."""
    if day >= live_first():
        return
    try:
        pipe = client().pipeline(transaction=True)
        pipe.sadd(key(shop_id, SDIRTY), day_text(day))
        pipe.expire(key(shop_id, SDIRTY), DIRTY_TTL)
        pipe.execute()
    except redis.RedisError:
        pass


def sales_rollup(*, shop_id: int, today: date | None = None, check: bool | None = None) -> int:
    """Remake the dirty days, the days missing their row and (hourly, or when CHECK) the days
    the check finds changed; returns how many days were remade. Run in the shop's schema."""
    redis_client = client()
    dirty = dirty_days(shop_id)
    days = set(dirty) | set(days_missing(today=today))
    if check is None:
        check = not redis_client.exists(key(shop_id, SCHECKED))
    if check:
        days |= set(sales_check(today=today))
    made = sales_days_roll(days=days)
    # Only the marks that were read: a mark added meanwhile stays for the next run.
    if dirty:
        redis_client.srem(key(shop_id, SDIRTY), *(day_text(d) for d in dirty))
    if check:
        redis_client.set(key(shop_id, SCHECKED), "1", ex=CHECK_SECONDS)
    return made
