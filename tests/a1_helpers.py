"""Makers for the analytics tests: a clean slate in Redis, rollups, the daily rows as dicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.analytics.counting import PREFIX, client
from storefront.analytics.models import (
    DailyCount,
    DailyPageCount,
    DailyVisitors,
    ListingSalesDay,
    PageSalesDay,
    RollupBatch,
    SalesDay,
)
from storefront.analytics.rollup import RollupResult, shop_rollup

# A phone in WeChat's browser: a person, counted.
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2d) NetType/WIFI "
    "Language/zh_CN"
)


def analytics_forget(*shops) -> None:
    """Every analytics key of SHOPS gone from Redis (a fresh start for one test)."""
    redis = client()
    for shop in shops:
        keys = list(redis.scan_iter(f"{PREFIX}:{{{shop.pk}}}:*", count=1000))
        if keys:
            redis.delete(*keys)


def analytics_keys(shop) -> list[str]:
    return sorted(k.decode() for k in client().scan_iter(f"{PREFIX}:{{{shop.pk}}}:*"))


def rollup(shop, *, today: date | None = None) -> RollupResult:
    with tenant_context(shop):
        result = shop_rollup(shop_id=shop.pk, today=today)
    connection.set_schema_to_public()
    return result


def counts(shop, **filters) -> dict[tuple, int]:
    """{(day, event, page_id, listing_id, source): count} of SHOP's rows matching FILTERS."""
    with tenant_context(shop):
        rows = {
            (r.day, r.event, r.page_id, r.listing_id, r.source): r.count
            for r in DailyCount.objects.filter(**filters)
        }
    connection.set_schema_to_public()
    return rows


def page_counts(shop) -> dict[tuple, int]:
    """{(day, event, page_id, source): count} of SHOP's DailyPageCount rows."""
    with tenant_context(shop):
        rows = {
            (r.day, r.event, r.page_id, r.source): r.count for r in DailyPageCount.objects.all()
        }
    connection.set_schema_to_public()
    return rows


def page_counts_expected(shop) -> dict[tuple, int]:
    """SHOP's DailyCount rows summed over listings: what DailyPageCount must hold."""
    summed: dict[tuple, int] = {}
    for (day, event, page_id, _listing, source), n in counts(shop).items():
        summed[(day, event, page_id, source)] = summed.get((day, event, page_id, source), 0) + n
    return summed


def total(shop, **filters) -> int:
    return sum(counts(shop, **filters).values())


def visitors(shop) -> dict[date, int]:
    with tenant_context(shop):
        rows = dict(DailyVisitors.objects.values_list("day", "visitors"))
    connection.set_schema_to_public()
    return rows


def rows_delete(*shops) -> None:
    for shop in shops:
        with tenant_context(shop):
            DailyCount.objects.all().delete()
            DailyPageCount.objects.all().delete()
            DailyVisitors.objects.all().delete()
            RollupBatch.objects.all().delete()
            # Days of paid orders a committed rollup made (sales.py): later tests write
            # orders directly, which no rollup would see.
            for model in (SalesDay, PageSalesDay, ListingSalesDay):
                model.objects.all().delete()
    connection.set_schema_to_public()


@pytest.fixture
def clean_analytics(shops) -> Iterator[None]:
    """Both shops start with no analytics in Redis (rows live in the test's transaction)."""
    analytics_forget(shops.a, shops.b)
    yield
    analytics_forget(shops.a, shops.b)


@pytest.fixture
def committed_analytics(shops, committed_db) -> Iterator[None]:
    """As clean_analytics, for committed tests: the rows they made are deleted afterwards."""
    analytics_forget(shops.a, shops.b)
    rows_delete(shops.a, shops.b)
    yield
    analytics_forget(shops.a, shops.b)
    rows_delete(shops.a, shops.b)
