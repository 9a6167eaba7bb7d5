"""Group buys with committed data and real threads: buyers at a tier boundary all at once, and
many buyers racing for a 拼团 group's last place (each thread its own database connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.groupbuy.models import GroupBuy, GroupMember, GroupTeam
from storefront.groupbuy.services import groupbuy_close
from storefront.models import Order

from .groupbuy_helpers import deadline_passes, fixed, join, joined_paid, pay, tiered
from .journey_helpers import paid_rows_removed  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english", "paid_rows_removed")


def at_once(n: int, work: Callable[[int], object]) -> list[object]:
    """Run WORK(i) in N threads released together; each result or the exception raised."""
    start = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            start.wait(timeout=60)
            results[i] = work(i)
        except Exception as exc:  # the refusal is the result
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_buyers_joining_at_a_tier_boundary_at_once_end_counted_exactly_at_one_price(shops):
    # ¥100; ¥80 from 4 buyers; ¥70 from 8: three paid, five join and pay at once → exactly 8,
    # so the ¥70 tier, and one lost count would leave everyone at ¥80.
    tiers = [[1, 10000], [4, 8000], [8, 7000]]
    campaign, _item = tiered(shops.b, tiers=tiers, min_buyers=1)
    joined_paid(shops.b, campaign, 3)

    def join_and_pay(i: int) -> Order:
        order = join(shops.b, campaign, mobile=f"1370000{i:04d}")
        pay(shops.b, order)
        return order

    results = at_once(5, join_and_pay)

    assert all(isinstance(r, Order) for r in results), results
    with tenant_context(shops.b):
        fresh = GroupBuy.objects.get(pk=campaign.pk)
        assert (fresh.paid_count, fresh.seats, fresh.units_left) == (8, 8, 12)
        assert GroupMember.objects.filter(campaign=campaign, status="paid").count() == 8
    connection.set_schema_to_public()
    deadline_passes(shops.b, campaign)
    with tenant_context(shops.b):
        done = groupbuy_close(campaign_id=campaign.pk)
        finals = set(
            Order.objects.filter(group_member__campaign=campaign).values_list(
                "lines__retail_price_fen", flat=True
            )
        )
    assert (done.status, done.final_price_fen, finals) == ("succeeded", 7000, {7000})


def test_the_last_place_of_a_group_goes_to_exactly_one_buyer(shops):
    campaign, _item = fixed(shops.b, size=3)
    leader = join(shops.b, campaign)
    pay(shops.b, leader)
    with tenant_context(shops.b):
        team = GroupTeam.objects.get(members__order=leader)
    connection.set_schema_to_public()
    pay(shops.b, join(shops.b, campaign, team=team.code))

    results = at_once(
        6, lambda i: join(shops.b, campaign, team=team.code, mobile=f"1370001{i:04d}")
    )

    winners = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(winners), len(refused)) == (1, 5), results
    assert all("taken" in " ".join(r.messages) for r in refused)
    pay(shops.b, winners[0])
    with tenant_context(shops.b):
        team = GroupTeam.objects.get(pk=team.pk)
        assert (team.status, team.seats, team.paid_count) == ("full", 3, 3)
        assert GroupMember.objects.filter(team=team).count() == 3
