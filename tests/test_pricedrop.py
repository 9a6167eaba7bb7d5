"""Share price drops (降价拍), their rules as services: a fixed step down to a floor, a share
counted once per sharer and once per visitor, never by the sharer herself, limits per address,
Redis rebuilt from PostgreSQL, the price locked at order time, the last unit to exactly one
buyer, stock taken at the start and given back once at the end, terms only in buyers' favour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU
from storefront.campaigns.registry import campaign_claim_from_ticket
from storefront.models import Order
from storefront.orders.paying import order_cancel
from storefront.orders.services import Buyer, Want, order_place
from storefront.pricedrop import counting
from storefront.pricedrop.counting import Outcome
from storefront.pricedrop.models import DropPurchase, DropSharer, PriceDrop
from storefront.pricedrop.services import (
    pricedrop_counted,
    pricedrop_end,
    pricedrop_flush,
    pricedrop_recount,
    pricedrop_standing,
    pricedrop_ticket,
    pricedrop_update,
    pricedrops_due_run,
)

from .pricedrop_helpers import (  # noqa: F401 (pytest fixtures)
    drop_make,
    pricedrop_redis_clean,
    sharer_make,
    terms,
    visit,
)
from .storefront_helpers import BUYER

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_media", "catalog_english", "pricedrop_redis_clean"),
]


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def buyer(n: int) -> Buyer:
    return Buyer(**{**BUYER.__dict__, "mobile": f"137{n:08d}", "recipient_phone": f"137{n:08d}"})


def claim(campaign: PriceDrop, quantity: int = 1, fan=None):
    ticket = pricedrop_ticket(campaign=campaign, quantity=quantity)
    return campaign_claim_from_ticket(ticket=f"drop:{ticket}", fan=fan)


def place(campaign: PriceDrop, n: int, quantity: int = 1) -> Order:
    found = claim(campaign, quantity)
    return order_place(wants=[Want(found.item_id, quantity)], buyer=buyer(n), campaign=found)


def test_each_counted_share_lowers_the_price_by_the_step_down_to_the_floor(shops):
    campaign = drop_make(shops.a)  # 8800 → 6000 by 500: the floor after 6 shares
    with tenant_context(shops.a):
        prices = []
        for n in range(8):
            sharer = sharer_make(campaign)
            assert visit(sharer, device=f"dev-{n}", address=f"10.0.{n}.1").outcome == 0
            prices.append(pricedrop_standing(campaign=campaign).price_fen)
    assert prices == [8300, 7800, 7300, 6800, 6300, 6000, 6000, 6000]
    assert campaign.price_at(0) == 8800 and campaign.shares_to_floor() == 6


def test_a_sharer_is_counted_once_and_a_visitor_lowers_the_price_once(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        first, second = sharer_make(campaign), sharer_make(campaign)
        outcomes = [
            visit(first, device="friend-1", address="10.1.0.1").outcome,
            visit(first, device="friend-2", address="10.1.0.2").outcome,  # sharer counted
            visit(second, device="friend-1", address="10.1.0.1").outcome,  # visitor used
        ]
        assert pricedrop_counted(campaign=campaign) == 1
    assert outcomes == [Outcome.COUNTED, Outcome.ALREADY, Outcome.VISITOR_USED]


def test_a_thousand_visits_from_one_device_and_address_count_once(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        sharers = [sharer_make(campaign) for _ in range(10)]
        outcomes = [
            visit(sharers[i % 10], device="one-phone", address="10.2.0.1").outcome
            for i in range(1000)
        ]
        assert pricedrop_counted(campaign=campaign) == 1
    assert outcomes.count(Outcome.COUNTED) == 1


def test_the_sharers_own_account_devices_and_addresses_never_count(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        sharer = sharer_make(campaign, device="her-phone", address="10.3.0.1")
        outcomes = [
            visit(sharer, device="her-laptop", address="10.3.9.9", fan_id=sharer.fan_id).outcome,
            visit(sharer, device="her-phone", address="10.3.9.8").outcome,  # on mobile data
            visit(sharer, device="new-tablet", address="10.3.0.1").outcome,  # at home
        ]
        assert pricedrop_counted(campaign=campaign) == 0
        # A friend counts, even right after her own visits.
        assert visit(sharer, device="friend", address="10.3.5.5").outcome == Outcome.COUNTED
    assert outcomes == [Outcome.SELF] * 3


def test_one_address_counts_a_few_shares_and_rapid_visits_are_not_looked_at(shops):
    campaign = drop_make(shops.a, floor_fen=6000, step_fen=100)
    with tenant_context(shops.a):
        office = [
            visit(sharer_make(campaign), device=f"desk-{n}", address="10.4.0.1").outcome
            for n in range(counting.ADDRESS_MAX + 2)
        ]
        sharer = sharer_make(campaign)
        burst = [
            visit(sharer, device=f"bot-{n}", address="10.4.0.2").outcome
            for n in range(counting.MINUTE_MAX + 5)
        ]
    assert office.count(Outcome.COUNTED) == counting.ADDRESS_MAX
    assert office[-1] == Outcome.ADDRESS_FULL
    assert burst[0] == Outcome.COUNTED and burst[-1] == Outcome.LIMITED


def test_the_count_is_rebuilt_from_postgresql_after_redis_lost_its_data(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        sharers = [sharer_make(campaign, device=f"own-{n}") for n in range(4)]
        for n, sharer in enumerate(sharers[:3]):
            visit(sharer, device=f"friend-{n}", address=f"10.5.{n}.1")
        live = pricedrop_counted(campaign=campaign)
        price = pricedrop_standing(campaign=campaign).price_fen
        assert pricedrop_flush(campaign_id=campaign.pk) == 3
        assert DropSharer.objects.filter(campaign=campaign, counted_at__isnull=False).count() == 3

        counting.client().flushdb()  # Redis loses everything
        assert counting.live_count(campaign_id=campaign.pk) is None
        assert pricedrop_recount(campaign_id=campaign.pk) == live == 3
        assert pricedrop_standing(campaign=campaign).price_fen == price
        # What it knew is back: a counted visitor, a counted sharer, the sharer's own device.
        assert visit(sharers[3], device="friend-0", address="10.5.9.1").outcome == 4
        assert visit(sharers[0], device="friend-x", address="10.5.9.2").outcome == 1
        assert visit(sharers[3], device="own-3", address="10.5.9.3").outcome == 2
        # And a visit with nothing live rebuilds first, by itself.
        counting.client().flushdb()
        assert visit(sharers[3], device="friend-9", address="10.5.9.9").outcome == 0
        assert pricedrop_counted(campaign=campaign) == 4


def test_the_price_is_locked_when_the_order_is_placed(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        order = place(campaign, 1)
        visit(sharer_make(campaign), device="late-friend", address="10.6.0.1")
        later = claim(campaign)
        line = order.lines.get()
        purchase = DropPurchase.objects.get(order=order)
    assert (line.retail_price_fen, line.campaign) == (8800, f"drop:{campaign.pk}")
    assert (purchase.unit_price_fen, purchase.counted_at_order) == (8800, 0)
    assert later.unit_price_fen == 8300


def test_the_per_fan_limit_holds(shops):
    campaign = drop_make(shops.a, per_fan_limit=1)
    with tenant_context(shops.a):
        place(campaign, 2)
        with pytest.raises(ValidationError, match="as many"):
            place(campaign, 2)
        with pytest.raises(ValidationError, match="at most 1"):
            claim(campaign, quantity=2)


def test_an_unpaid_order_gives_its_unit_back_to_the_drop_or_after_the_end_to_the_sku(shops):
    campaign = drop_make(shops.a, quantity=3, stock=10)
    with tenant_context(shops.a):
        sku_id = campaign.item.sku_id
        assert stock(sku_id) == 7  # taken at the start
        first, second = place(campaign, 3), place(campaign, 4)
        order_cancel(order=first)
        order_cancel(order=first)  # idempotent
        assert PriceDrop.objects.get(pk=campaign.pk).units_taken == 1
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)  # once
        assert stock(sku_id) == 9  # the 2 units no order held
        order_cancel(order=Order.objects.get(pk=second.pk))
        assert stock(sku_id) == 10
        with pytest.raises(ValidationError, match="ended"):
            claim(campaign)


def test_the_window_ends_the_drop_and_returns_its_stock_once(shops):
    campaign = drop_make(shops.a, quantity=4, stock=10)
    with tenant_context(shops.a):
        later = timezone.now() + timedelta(days=2)
        assert pricedrops_due_run(now=later) == (0, 1)
        assert pricedrops_due_run(now=later) == (0, 0)
        ended = PriceDrop.objects.get(pk=campaign.pk)
        assert (ended.status, ended.end_reason, ended.units_returned) == ("ended", "window", 4)
        assert stock(campaign.item.sku_id) == 10


def test_a_scheduled_drop_starts_when_due(shops):
    soon = timezone.now() + timedelta(hours=1)
    campaign = drop_make(shops.a, starts_at=soon, ends_at=soon + timedelta(days=1), stock=10)
    with tenant_context(shops.a):
        assert campaign.status == "scheduled" and stock(campaign.item.sku_id) == 10
        assert pricedrops_due_run() == (0, 0)
        assert pricedrops_due_run(now=soon + timedelta(minutes=1)) == (1, 0)
        assert stock(campaign.item.sku_id) == 5


def test_terms_change_only_in_buyers_favour_once_a_share_counted(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        worse = terms(start_price_fen=8500, step_fen=100, ends_at=campaign.ends_at)
        pricedrop_update(campaign=campaign, terms=worse)  # nobody shared yet: fine
        visit(sharer_make(campaign), device="f", address="10.7.0.1")
        earlier = campaign.ends_at - timedelta(hours=1)
        with pytest.raises(ValidationError) as refused:
            pricedrop_update(
                campaign=campaign,
                terms=terms(start_price_fen=8800, step_fen=50, floor_fen=6500, ends_at=earlier),
            )
        assert set(refused.value.error_dict) == {
            "start_price_fen",
            "step_fen",
            "floor_fen",
            "ends_at",
        }
        better = terms(start_price_fen=8000, step_fen=200, quantity=6, ends_at=campaign.ends_at)
        saved = pricedrop_update(campaign=campaign, terms=better)
        assert pricedrop_standing(campaign=saved).price_fen == 7800
        assert stock(campaign.item.sku_id) == 20 - 6


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"start_price_fen": 13000}, "start_price_fen"),  # above the supplier's bounds
        ({"floor_fen": 5000}, "floor_fen"),  # below them
        ({"floor_fen": 9000, "start_price_fen": 8800}, "floor_fen"),
        ({"step_fen": 0}, "step_fen"),
        ({"step_fen": 5000}, "step_fen"),
        ({"quantity": 0}, "quantity"),
        ({"per_fan_limit": 11}, "per_fan_limit"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, "ends_at"),
        ({"ends_at": timezone.now() + timedelta(days=40)}, "ends_at"),
        ({"title": "   "}, "title"),
    ],
)
def test_bad_terms_are_refused_with_a_message_on_the_field(shops, over, field):
    with pytest.raises(ValidationError) as refused:
        drop_make(shops.a, **over)
    assert field in refused.value.error_dict


def test_a_drop_needs_the_stock_and_an_item_has_one_open_drop(shops):
    with pytest.raises(ValidationError, match="stock"):
        drop_make(shops.a, stock=3, quantity=5)
    campaign = drop_make(shops.a)
    with tenant_context(shops.a), pytest.raises(ValidationError, match="already"):
        from storefront.pricedrop.services import pricedrop_create

        pricedrop_create(item=campaign.item, terms=terms())


def test_forged_expired_and_other_shops_tickets_are_refused(shops):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        good = pricedrop_ticket(campaign=campaign, quantity=1)
        forged = signing.dumps({"c": campaign.pk, "q": 1, "s": shops.a.pk}, salt="other")
        tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
        for ticket in (forged, tampered, "x" * 20, "'; drop table--", "\x00" * 12, ""):
            with pytest.raises(ValidationError):
                campaign_claim_from_ticket(ticket=f"drop:{ticket}", fan=None)
        old = signing.TimestampSigner(salt="storefront.pricedrop.ticket")
        expired = signing.dumps({"c": campaign.pk, "q": 1, "s": shops.a.pk}, salt=old.salt)
        from unittest import mock

        with (
            mock.patch("django.core.signing.time.time", return_value=2e10),
            pytest.raises(ValidationError, match="expired"),
        ):
            campaign_claim_from_ticket(ticket=f"drop:{expired}", fan=None)
    with tenant_context(shops.b), pytest.raises(ValidationError, match="not valid"):
        campaign_claim_from_ticket(ticket=f"drop:{good}", fan=None)


def test_shops_count_apart(shops):
    in_a = drop_make(shops.a)
    in_b = drop_make(shops.b)
    with tenant_context(shops.a):
        key_a = counting.key(in_a.pk, "cnt")
        visit(sharer_make(in_a), device="friend", address="10.8.0.1")
        assert pricedrop_counted(campaign=in_a) == 1
        assert (
            not PriceDrop.objects.filter(pk=in_b.pk, item_id=in_b.item_id)
            .exclude(pk=in_a.pk)
            .exists()
            or in_a.pk == in_b.pk
        )
    with tenant_context(shops.b):
        assert counting.key(in_a.pk, "cnt") != key_a
        # The same visitor is new in another shop, and shop A's count is not B's.
        assert pricedrop_counted(campaign=PriceDrop.objects.get(pk=in_b.pk)) == 0
        assert visit(sharer_make(in_b), device="friend", address="10.8.0.1").outcome == 0
    connection.set_schema_to_public()


def test_the_product_page_strip_links_to_a_running_drop_only(shops):
    from storefront.campaigns.registry import campaign_kind

    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        kind = campaign_kind("drop")
        listing_id = campaign.item.listing_id
        assert listing_id in kind.live_listing_ids()
        strip = kind.listing_strip(listing_id=listing_id)
        assert f'href="/drop/{campaign.pk}/"' in strip and "¥88.00" in strip and "¥60.00" in strip
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)
        assert kind.listing_strip(listing_id=listing_id) == ""
        assert listing_id not in kind.live_listing_ids()


def test_the_minute_task_flushes_shares_and_ends_due_drops_in_every_shop(shops):
    from storefront.pricedrop.tasks import pricedrops_tick_task

    in_a, in_b = drop_make(shops.a), drop_make(shops.b)
    with tenant_context(shops.a):
        visit(sharer_make(in_a), device="tick-friend", address="10.9.0.1")
    with tenant_context(shops.b):
        PriceDrop.objects.filter(pk=in_b.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    connection.set_schema_to_public()
    assert pricedrops_tick_task() >= 1
    with tenant_context(shops.a):
        assert DropSharer.objects.filter(campaign=in_a, counted_at__isnull=False).count() == 1
        assert PriceDrop.objects.get(pk=in_a.pk).status == "running"
    with tenant_context(shops.b):
        assert PriceDrop.objects.get(pk=in_b.pk).status == "ended"
