"""The rollup of Redis counts into DailyCount / DailyVisitors (storefront/analytics/rollup.py):
exact, idempotent (run twice, same rows), resumable (killed at any step, the next run finishes
without counting twice), concurrent runs safe, per shop; the beat task with the platform tenant,
the template and a pooled schema present; the demo's 90 days."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.analytics import rollup as rollup_module
from storefront.analytics.counting import Event, client, events_count, key
from storefront.analytics.demo import demo_seed
from storefront.analytics.models import DailyCount, DailyVisitors
from storefront.analytics.rollup import RollupResult, batch_commit, batches_take
from storefront.analytics.sales import CHECK_SECONDS, SCHECKED
from storefront.analytics.tasks import analytics_rollup_task
from tenants.models import Tenant
from tenants.provisioning import pool_refill

from .a1_helpers import (
    analytics_keys,
    clean_analytics,
    committed_analytics,
    counts,
    page_counts,
    page_counts_expected,
    rollup,
    total,
    visitors,
)

pytestmark = pytest.mark.usefixtures("catalog_english")
__all__ = ["clean_analytics", "committed_analytics"]  # fixtures, used by name below

MONDAY = date(2026, 3, 2)
TUESDAY = MONDAY + timedelta(days=1)


def count(shop, n: int, *, day: date = MONDAY, event: str = "article_view", page_id: int = 5,
          listing_id: int = 0, source: str = "", visitor: str = "") -> None:  # fmt: skip
    for _ in range(n):
        events_count(
            shop_id=shop.pk,
            events=[Event(event, page_id, listing_id, source)],
            visitor=visitor,
            day=day,
        )


def left_over(shop) -> list[str]:
    """SHOP's analytics keys still in Redis, but for the sales check's marker: the rollup runs
    the hourly check of the sales days (sales.py) and leaves SCHECKED behind on purpose, set
    to expire within the hour (a rollup ran here, so it must be there)."""
    checked = key(shop.pk, SCHECKED)
    assert 0 < client().ttl(checked) <= CHECK_SECONDS
    return [k for k in analytics_keys(shop) if k != checked]


def pending(shop) -> set[str]:
    return {b.decode() for b in client().smembers(key(shop.pk, "pending"))}


@pytest.mark.django_db
def test_the_rollup_moves_every_count_into_its_daily_row(shops, clean_analytics):
    count(shops.a, 3)
    count(shops.a, 2, day=TUESDAY)
    count(shops.a, 4, event="card_tap", listing_id=9, source="campaign:12")
    count(shops.a, 1, event="order_paid", page_id=0, source="coupon:SPRING-10")

    result = rollup(shops.a, today=TUESDAY)

    assert counts(shops.a) == {
        (MONDAY, "article_view", 5, 0, ""): 3,
        (TUESDAY, "article_view", 5, 0, ""): 2,
        (MONDAY, "card_tap", 5, 9, "campaign:12"): 4,
        (MONDAY, "order_paid", 0, 0, "coupon:SPRING-10"): 1,
    }
    assert (result.events, result.rows) == (10, 4)
    assert left_over(shops.a) == []  # Redis keeps nothing that is in the rows


@pytest.mark.django_db
def test_the_page_rows_are_the_daily_rows_summed_over_listings(shops, clean_analytics):
    count(shops.a, 3, event="card_tap", listing_id=7)
    count(shops.a, 4, event="card_tap", listing_id=8)
    count(shops.a, 2, event="card_tap", listing_id=8, source="share")
    rollup(shops.a)
    assert page_counts(shops.a) == {
        (MONDAY, "card_tap", 5, ""): 7,
        (MONDAY, "card_tap", 5, "share"): 2,
    }
    count(shops.a, 1, event="card_tap", listing_id=9)  # a later batch adds to the same row
    rollup(shops.a)
    assert page_counts(shops.a)[(MONDAY, "card_tap", 5, "")] == 8
    assert page_counts(shops.a) == page_counts_expected(shops.a)

    # Rows written into DailyCount directly (the demo) are carried over whole.
    with tenant_context(shops.a):
        from storefront.analytics.rollup import page_counts_remake

        DailyCount.objects.filter(listing_id=9).update(count=5)
        assert page_counts_remake(first=MONDAY, last=MONDAY) == 2
    connection.set_schema_to_public()
    assert page_counts(shops.a)[(MONDAY, "card_tap", 5, "")] == 12
    assert page_counts(shops.a) == page_counts_expected(shops.a)


@pytest.mark.django_db
def test_rolling_up_twice_gives_the_same_rows_and_later_counts_add_up(shops, clean_analytics):
    count(shops.a, 3)
    rollup(shops.a)
    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 3}

    count(shops.a, 2)  # the same day, after the first rollup
    rollup(shops.a)
    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 5}


@pytest.mark.django_db
def test_killed_after_taking_the_counts_the_next_run_applies_them_once(shops, clean_analytics):
    count(shops.a, 3)
    with tenant_context(shops.a):
        batches_take(shop_id=shops.a.pk)  # ... and the worker died here
    connection.set_schema_to_public()
    count(shops.a, 2)  # counted meanwhile: a fresh live hash

    assert len(pending(shops.a)) == 1
    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 5}
    assert pending(shops.a) == set()


@pytest.mark.django_db
def test_killed_after_the_commit_the_next_run_does_not_count_again(shops, clean_analytics):
    count(shops.a, 3)
    with tenant_context(shops.a):
        batches_take(shop_id=shops.a.pk)
        (batch,) = pending(shops.a)
        batch_commit(shop_id=shops.a.pk, batch=batch, result=RollupResult())
    connection.set_schema_to_public()
    # ... died before deleting the batch from Redis: it is still there and still pending.
    assert batch in pending(shops.a)

    rollup(shops.a)
    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 3}
    assert left_over(shops.a) == []
    assert page_counts(shops.a) == {(MONDAY, "article_view", 5, ""): 3}


@pytest.mark.django_db
def test_killed_inside_the_transaction_nothing_half_applied(shops, clean_analytics, monkeypatch):
    count(shops.a, 3, page_id=1)
    count(shops.a, 4, page_id=2)
    count(shops.a, 5, page_id=3)
    real = rollup_module.field_parse
    seen = []

    def dies_on_the_second_field(field: str):
        seen.append(field)
        if len(seen) == 2:
            raise SystemExit("worker killed")
        return real(field)

    monkeypatch.setattr(rollup_module, "field_parse", dies_on_the_second_field)
    with pytest.raises(SystemExit):
        rollup(shops.a)
    connection.set_schema_to_public()
    assert counts(shops.a) == {}  # the first field's row went with the transaction
    assert page_counts(shops.a) == {}

    monkeypatch.setattr(rollup_module, "field_parse", real)
    rollup(shops.a)
    assert total(shops.a) == 12
    assert {page for (_d, _e, page, _l, _s) in counts(shops.a)} == {1, 2, 3}


@pytest.mark.django_db
def test_unknown_fields_in_redis_are_skipped_not_fatal(shops, clean_analytics):
    count(shops.a, 2)
    live = key(shops.a.pk, f"c:{MONDAY:%Y%m%d}")
    client().hincrby(live, "article_view|5|0|<script>", 7)
    client().hincrby(live, "nonsense", 1)

    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 2}


@pytest.mark.django_db
def test_visitors_are_stored_whole_and_old_days_are_let_go(shops, clean_analytics):
    for n in range(50):
        count(shops.a, 1, visitor=f"v{n}")
    rollup(shops.a, today=MONDAY)
    rollup(shops.a, today=MONDAY)
    assert visitors(shops.a) == {MONDAY: 50}

    count(shops.a, 1, visitor="v1")  # seen already
    count(shops.a, 1, visitor="new")
    rollup(shops.a, today=TUESDAY)  # yesterday's stays open a day for late events
    assert visitors(shops.a) == {MONDAY: 51}
    assert key(shops.a.pk, f"u:{MONDAY:%Y%m%d}") in analytics_keys(shops.a)

    rollup(shops.a, today=MONDAY + timedelta(days=2))
    assert visitors(shops.a) == {MONDAY: 51}
    assert left_over(shops.a) == []


@pytest.mark.django_db
def test_each_shop_rolls_up_its_own_counts_only(shops, clean_analytics):
    count(shops.a, 3, visitor="same-person")
    count(shops.b, 1, page_id=6, visitor="same-person")

    rollup(shops.b)
    assert counts(shops.b) == {(MONDAY, "article_view", 6, 0, ""): 1}
    assert counts(shops.a) == {}  # a's counts are a's, still waiting in Redis
    rollup(shops.a)
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 3}
    assert visitors(shops.a) == visitors(shops.b) == {MONDAY: 1}


# --- committed: threads and the beat task ---------------------------------------------------------


@pytest.fixture
def pooled_schema(committed_db) -> Iterator[str]:
    """One committed schema in the warm pool (beat must leave it alone), dropped afterwards."""
    before = set(Tenant.objects.filter(state=Tenant.State.POOLED).values_list("pk", flat=True))
    assert pool_refill(size=len(before) + 1) == 1
    made = Tenant.objects.filter(state=Tenant.State.POOLED).exclude(pk__in=before).get()
    yield made.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{made.schema_name}" CASCADE')
    Tenant.objects.filter(pk=made.pk).delete()


def test_two_rollups_at_once_count_once(shops, committed_analytics):
    for page_id in range(1, 41):
        count(shops.a, 5, page_id=page_id)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            rollup(shops.a)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert total(shops.a) == 200
    assert len(counts(shops.a)) == 40
    assert page_counts(shops.a) == page_counts_expected(shops.a)


def test_the_beat_task_rolls_up_every_live_shop_beside_the_template_and_pool(
    shops, committed_analytics, pooled_schema
):
    count(shops.a, 3, visitor="a-reader")
    count(shops.b, 2, event="card_tap", listing_id=4)
    # A shop that no longer exists still has keys: the task never touches them.
    events_count(shop_id=999_999, events=[Event("article_view", 1)], day=MONDAY)

    # As beat sends it: from the public schema, no arguments.
    result = analytics_rollup_task.apply()

    assert result.successful(), result.traceback
    assert result.get() == 5
    assert counts(shops.a) == {(MONDAY, "article_view", 5, 0, ""): 3}
    assert counts(shops.b) == {(MONDAY, "card_tap", 5, 4, ""): 2}
    # The dashboard's rows, summed over listings, written by the same task run.
    assert page_counts(shops.b) == {(MONDAY, "card_tap", 5, ""): 2}
    assert visitors(shops.a) == {MONDAY: 1} and visitors(shops.b) == {}
    with tenant_context(Tenant.objects.get(schema_name=pooled_schema)):
        assert not DailyCount.objects.exists()
    connection.set_schema_to_public()
    # Next minute, nothing new: nothing changes.
    assert analytics_task_again() == 0
    assert total(shops.a) == 3 and total(shops.b) == 2
    client().delete(key(999_999, f"c:{MONDAY:%Y%m%d}"), key(999_999, "days"))


def analytics_task_again() -> int:
    result = analytics_rollup_task.apply()
    assert result.successful(), result.traceback
    return result.get()


# --- the demo -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_seeds_ninety_days_shaped_like_a_shop_and_again_changes_nothing(shops):
    demo_seed(shop=shops.a, days=90)
    with tenant_context(shops.a):
        first = list(DailyCount.objects.order_by("pk").values_list("day", "event", "count"))
        days = DailyVisitors.objects.count()
        events = set(DailyCount.objects.values_list("event", flat=True))
        by_event = {
            e: sum(c for _d, ev, c in first if ev == e)
            for e in ("article_view", "card_tap", "checkout_start", "order_paid")
        }
    demo_seed(shop=shops.a, days=90)
    with tenant_context(shops.a):
        again = list(DailyCount.objects.order_by("pk").values_list("day", "event", "count"))
    connection.set_schema_to_public()

    assert days == 90
    assert again == first
    assert page_counts(shops.a) == page_counts_expected(shops.a)
    assert events == {
        "article_view", "product_view", "card_impression", "card_tap",
        "share_visit", "checkout_start", "order_paid",
    }  # fmt: skip
    # A funnel: each step fewer than the one before.
    assert (
        by_event["article_view"]
        > by_event["card_tap"]
        > by_event["checkout_start"]
        > by_event["order_paid"]
        > 0
    )
