"""Group buys, the buyer's and the money's side: tiers reached or not, the minimum missed, the
close killed halfway and run again, a refund the provider refuses at first, cancelling, 拼团
groups that fill or time out, the ledger's invariants, forged tickets and other shops.

Buyers join through the real seam (a signed ticket → claim → order_place), pay through the
sandbox provider, and the close runs the real refunds and postings.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.adjustments import capture_targets, payment_balances
from billing.fulfilment.models import SupplierOrder
from billing.ledger import capture_split
from billing.ledger_selectors import balances_recompute_check
from billing.models import Payment, Refund, SandboxTrade
from billing.payments.sandbox import SandboxProvider
from catalog.models import SKU
from storefront.groupbuy import services
from storefront.groupbuy.models import GroupBuy, GroupMember, GroupTeam
from storefront.groupbuy.services import (
    Terms,
    claim_from_ticket,
    groupbuy_close,
    groupbuy_update,
    member_cancel,
    team_settle,
    ticket_make,
)
from storefront.models import Order
from storefront.orders.services import capture_lines, order_expire

from .groupbuy_helpers import TIERS, deadline_passes, fixed, join, joined_paid, pay, tiered

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def close(shop, campaign) -> GroupBuy:
    with tenant_context(shop):
        done = groupbuy_close(campaign_id=campaign.pk)
    connection.set_schema_to_public()
    return done


def members(shop, campaign) -> list[GroupMember]:
    with tenant_context(shop):
        found = list(GroupMember.objects.filter(campaign=campaign).select_related("order"))
    connection.set_schema_to_public()
    return found


def payment_of(shop, order) -> Payment:
    return Payment.objects.exclude(captured_at=None).get(tenant=shop, order_number=order.number)


def sku_stock(item) -> int:
    return SKU.objects.get(pk=item.sku_id).stock


def ledger_at_final(shop, order) -> None:
    """The order's money as it stands: the payment's accounts equal a capture at the lines'
    final prices (fee and commission on the final price), the supplier order says the same,
    and every journal entry balances."""
    payment = payment_of(shop, order)
    with tenant_context(shop):
        lines = list(Order.objects.get(pk=order.pk).lines.order_by("id"))
    connection.set_schema_to_public()
    assert payment_balances(payment=payment) == capture_targets(
        payment=payment, lines=capture_lines(lines)
    )
    [split] = capture_split(lines=capture_lines(lines))
    so_line = SupplierOrder.objects.get(tenant=shop, order_number=order.number).lines.get()
    assert (so_line.retail_price_fen, so_line.fee_fen, so_line.commission_fen) == (
        lines[0].retail_price_fen,
        split.fee_fen,
        split.commission_fen,
    )


def test_everyone_ends_at_the_tier_reached_and_is_refunded_the_difference(shops):
    campaign, item = tiered(shops.a, min_buyers=2)
    orders = joined_paid(shops.a, campaign, 5)  # ¥100, ¥100, ¥80, ¥80, ¥70
    assert not SupplierOrder.objects.filter(order_number__in=[o.number for o in orders]).exists()
    deadline_passes(shops.a, campaign)

    done = close(shops.a, campaign)

    assert (done.status, done.final_price_fen, done.stock_returned) == ("succeeded", 7000, True)
    got = {
        m.order.number: (m.unit_price_fen, m.refund_fen, m.status)
        for m in members(shops.a, campaign)
    }
    assert [got[o.number] for o in orders] == [
        (10000, 3000, "settled"),
        (10000, 3000, "settled"),
        (8000, 1000, "settled"),
        (8000, 1000, "settled"),
        (7000, 0, "settled"),
    ]
    for order in orders:
        payment = payment_of(shops.a, order)
        assert payment.amount - payment.refunded_amount == 7000 + order.shipping_fen
        trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
        assert trade.refunded_amount == payment.refunded_amount  # the provider really paid it
        ledger_at_final(shops.a, order)
        with tenant_context(shops.a):
            fresh = Order.objects.get(pk=order.pk)
            assert (fresh.status, fresh.goods_fen) == ("paid", 7000)
        connection.set_schema_to_public()
    assert sku_stock(item) == 40 - 5  # the 15 units nobody bought went back
    assert balances_recompute_check() == []


def test_below_the_next_tier_everyone_pays_the_first_and_nothing_is_refunded(shops):
    campaign, _item = tiered(shops.a, min_buyers=2)
    orders = joined_paid(shops.a, campaign, 2)
    deadline_passes(shops.a, campaign)

    done = close(shops.a, campaign)

    assert (done.status, done.final_price_fen) == ("succeeded", 10000)
    assert not Refund.objects.filter(payment__order_number__in=[o.number for o in orders]).exists()
    assert SupplierOrder.objects.filter(order_number__in=[o.number for o in orders]).count() == 2


def test_minimum_missed_refunds_everyone_in_full_and_the_stock_goes_back(shops):
    campaign, item = tiered(shops.a, min_buyers=3)
    orders = joined_paid(shops.a, campaign, 2)
    unpaid = join(shops.a, campaign)  # her seat is released at the close
    assert sku_stock(item) == 20
    deadline_passes(shops.a, campaign)

    done = close(shops.a, campaign)
    again = close(shops.a, campaign)

    assert done.status == again.status == "failed"
    for order in orders:
        payment = payment_of(shops.a, order)
        assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
        assert payment_balances(payment=payment) == {}  # everything booked was undone
        with tenant_context(shops.a):
            assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
        connection.set_schema_to_public()
    with tenant_context(shops.a):
        assert Order.objects.get(pk=unpaid.pk).status == Order.Status.EXPIRED
    connection.set_schema_to_public()
    assert Refund.objects.filter(payment__order_number__in=[o.number for o in orders]).count() == 2
    assert not SupplierOrder.objects.filter(order_number__in=[o.number for o in orders]).exists()
    assert sku_stock(item) == 40
    assert balances_recompute_check() == []


def test_a_close_killed_halfway_and_run_again_refunds_each_buyer_exactly_once(shops, monkeypatch):
    campaign, _item = tiered(shops.a, min_buyers=1)
    orders = joined_paid(shops.a, campaign, 5)
    deadline_passes(shops.a, campaign)
    real = SandboxProvider.refund
    made = []

    def crashing(self, payment, **kw):
        # The provider has refunded two buyers and none of it is recorded yet: the worst
        # moment for the worker to die.
        if len(made) == 2:
            raise SystemExit("worker killed")
        made.append(payment.out_trade_no)
        return real(self, payment, **kw)

    monkeypatch.setattr(SandboxProvider, "refund", crashing)
    with pytest.raises(SystemExit):
        close(shops.a, campaign)
    connection.set_schema_to_public()
    monkeypatch.setattr(SandboxProvider, "refund", real)
    refunded_early = SandboxTrade.objects.filter(out_trade_no__in=made)
    assert [t.refunded_amount > 0 for t in refunded_early] == [True, True]
    assert (
        not Refund.objects.filter(status="succeeded")
        .filter(payment__order_number__in=[o.number for o in orders])
        .exists()
    )

    done = close(shops.a, campaign)
    close(shops.a, campaign)

    assert done.status == "succeeded" and done.stock_returned
    refunds = Refund.objects.filter(payment__order_number__in=[o.number for o in orders])
    assert sorted(r.amount for r in refunds) == [1000, 1000, 3000, 3000]
    assert all(r.status == "succeeded" for r in refunds)
    for order in orders:
        trade = SandboxTrade.objects.get(out_trade_no=payment_of(shops.a, order).out_trade_no)
        assert trade.amount - trade.refunded_amount == 7000 + order.shipping_fen
        ledger_at_final(shops.a, order)
    assert balances_recompute_check() == []


def test_a_refund_the_provider_refuses_is_retried_with_the_same_number(shops):
    campaign, _item = tiered(shops.a, min_buyers=1)
    first, *rest = joined_paid(shops.a, campaign, 3)
    deadline_passes(shops.a, campaign)
    payment = payment_of(shops.a, first)
    # The sandbox refuses refunds of a trade it does not hold as paid: a provider error.
    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(status="waiting")

    done = close(shops.a, campaign)

    assert done.status == "succeeded" and not done.stock_returned  # one member left to do
    [refund] = Refund.objects.filter(payment=payment)
    assert refund.status == "pending" and refund.last_error
    by_order = {m.order_id: m for m in members(shops.a, campaign)}
    assert by_order[first.pk].status == "paid" and by_order[first.pk].refund_error
    assert all(by_order[o.pk].status == "settled" for o in rest)
    assert not SupplierOrder.objects.filter(order_number=first.number).exists()

    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(status="paid")
    done = close(shops.a, campaign)

    assert done.stock_returned
    [again] = Refund.objects.filter(payment=payment)
    assert (again.pk, again.out_refund_no, again.status) == (
        refund.pk,
        refund.out_refund_no,
        "succeeded",
    )
    assert SandboxTrade.objects.get(out_trade_no=payment.out_trade_no).refunded_amount == 2000
    ledger_at_final(shops.a, first)


def test_cancelling_before_the_deadline_refunds_in_full_only_when_the_rules_allow(shops):
    strict, _ = tiered(shops.a)
    [kept] = joined_paid(shops.a, strict, 1)
    with tenant_context(shops.a), pytest.raises(ValidationError, match="do not allow"):
        member_cancel(order=Order.objects.get(pk=kept.pk))
    connection.set_schema_to_public()

    campaign, _item = tiered(shops.a, allow_cancel=True, min_buyers=1)
    leaving, staying = joined_paid(shops.a, campaign, 2)
    with tenant_context(shops.a):
        member = member_cancel(order=Order.objects.get(pk=leaving.pk))
        fresh = GroupBuy.objects.get(pk=campaign.pk)
    connection.set_schema_to_public()

    assert (member.status, member.cancelled) == ("refunded", True)
    assert (fresh.paid_count, fresh.units_left) == (1, 19)  # her unit is the campaign's again
    payment = payment_of(shops.a, leaving)
    assert payment.refunded_amount == payment.amount
    # The one who stayed paid ¥100 (first) and ends at ¥100: one buyer reached no tier.
    deadline_passes(shops.a, campaign)
    assert close(shops.a, campaign).final_price_fen == 10000
    with tenant_context(shops.a), pytest.raises(ValidationError, match="ended"):
        member_cancel(order=Order.objects.get(pk=staying.pk))


def test_a_cancellation_never_makes_the_others_pay_more_than_they_paid(shops):
    campaign, _item = tiered(shops.a, allow_cancel=True, min_buyers=1)
    orders = joined_paid(shops.a, campaign, 3)  # the third paid ¥80 (3 buyers)
    with tenant_context(shops.a):
        member_cancel(order=Order.objects.get(pk=orders[0].pk))  # back to 2 buyers
    connection.set_schema_to_public()
    deadline_passes(shops.a, campaign)

    done = close(shops.a, campaign)

    assert done.final_price_fen == 8000  # the lowest price a remaining buyer paid
    refunds = {
        m.order_id: m.refund_fen for m in members(shops.a, campaign) if m.status == "settled"
    }
    assert refunds == {orders[1].pk: 2000, orders[2].pk: 0}


def test_an_unpaid_join_that_expires_frees_its_seat_and_units(shops):
    campaign, _item = tiered(shops.a, quantity=2)
    order = join(shops.a, campaign, quantity=1)
    with tenant_context(shops.a):
        assert GroupBuy.objects.get(pk=campaign.pk).units_left == 1
        Order.objects.filter(pk=order.pk).update(pay_deadline=timezone.now())
        order_expire(order=Order.objects.get(pk=order.pk))
        fresh = GroupBuy.objects.get(pk=campaign.pk)
        member = GroupMember.objects.get(order=order)
    connection.set_schema_to_public()
    assert (fresh.units_left, fresh.seats, member.status) == (2, 0, "released")


def test_a_buyer_joins_once_and_within_the_limit(shops):
    campaign, _item = tiered(shops.a, per_fan_limit=2)
    join(shops.a, campaign, mobile="13700009999", quantity=2)
    with pytest.raises(ValidationError, match="already joined"):
        join(shops.a, campaign, mobile="13700009999")
    with pytest.raises(ValidationError, match="from 1 to 2"):
        join(shops.a, campaign, quantity=3)


def test_terms_change_only_in_buyers_favour_after_the_first_join(shops):
    campaign, _item = tiered(shops.a, min_buyers=3)
    ends = timezone.now() + timedelta(hours=5)

    def terms(**over):
        base = {"title": "一起买", "tiers": TIERS, "ends_at": ends, "quantity": 20, "min_buyers": 3}
        return Terms(**{**base, **over})

    with tenant_context(shops.a):
        groupbuy_update(campaign=campaign, terms=terms(min_buyers=4))  # nobody joined yet
    connection.set_schema_to_public()
    joined_paid(shops.a, campaign, 1)
    with tenant_context(shops.a):
        for worse in (
            terms(min_buyers=5),
            terms(tiers=[[1, 10000], [3, 8500], [5, 7000]]),
            terms(tiers=[[1, 10000], [4, 8000], [5, 7000]]),
            terms(ends_at=ends - timedelta(hours=1)),
        ):
            with pytest.raises(ValidationError, match="favour"):
                groupbuy_update(campaign=campaign, terms=worse)
        better = groupbuy_update(
            campaign=campaign,
            terms=terms(
                min_buyers=2,
                tiers=[[1, 9500], [2, 8000], [5, 6500]],
                ends_at=ends + timedelta(days=1),
            ),
        )
    assert (better.min_buyers, better.price_list[-1]) == (2, (5, 6500))


def test_tiers_outside_the_suppliers_bounds_or_not_falling_are_refused(shops):
    _campaign, item = tiered(shops.a)
    bad = [
        [[1, 10000], [3, 5900]],  # below the supplier's minimum ¥60
        [[1, 10000], [3, 10500]],  # a higher price for more buyers
        [[2, 10000]],  # no opening price
    ]
    with tenant_context(shops.a):
        for tiers in bad:
            with pytest.raises(ValidationError):
                services.groupbuy_create(
                    kind="tiered",
                    item=item,
                    terms=Terms(
                        title="x",
                        tiers=tiers,
                        ends_at=timezone.now() + timedelta(hours=1),
                        quantity=1,
                    ),
                )


def test_a_forged_or_other_shops_ticket_is_refused(shops):
    campaign, _item = tiered(shops.a)
    with tenant_context(shops.a):
        good = ticket_make(campaign=campaign)
        for forged in (good[:-2] + "xx", "e30:abc:def", ""):
            with pytest.raises(ValidationError, match="not valid"):
                claim_from_ticket(ticket=forged, fan=None)
    other, _ = tiered(shops.b)
    with tenant_context(shops.b):
        # Shop B has a group buy of the same id maybe, but A's ticket names A's schema.
        with pytest.raises(ValidationError, match="not valid"):
            claim_from_ticket(ticket=good, fan=None)
        assert (
            claim_from_ticket(ticket=ticket_make(campaign=other), fan=None).campaign_id == other.pk
        )


def test_a_full_group_ships_and_a_timed_out_one_is_refunded_in_full(shops):
    campaign, _item = fixed(shops.a, size=3)
    leader = join(shops.a, campaign)
    pay(shops.a, leader)
    with tenant_context(shops.a):
        team = GroupTeam.objects.get(members__order=leader)
    connection.set_schema_to_public()
    friends = [join(shops.a, campaign, team=team.code) for _ in range(2)]
    for order in friends:
        pay(shops.a, order)
    with pytest.raises(ValidationError, match="complete"):
        join(shops.a, campaign, team=team.code)

    with tenant_context(shops.a):
        full = team_settle(team_id=team.pk)
    connection.set_schema_to_public()
    assert full.status == "full"
    for order in (leader, *friends):
        ledger_at_final(shops.a, order)  # shipped at the group price ¥70

    lonely = join(shops.a, campaign)
    pay(shops.a, lonely)
    with tenant_context(shops.a):
        alone = GroupTeam.objects.get(members__order=lonely)
        GroupTeam.objects.filter(pk=alone.pk).update(expires_at=timezone.now())
        failed = team_settle(team_id=alone.pk)
        team_settle(team_id=alone.pk)  # again: nothing more
        assert Order.objects.get(pk=lonely.pk).status == Order.Status.CANCELLED
    connection.set_schema_to_public()
    assert failed.status == "failed"
    payment = payment_of(shops.a, lonely)
    assert payment.refunded_amount == payment.amount
    assert Refund.objects.filter(payment=payment).count() == 1
    assert not SupplierOrder.objects.filter(order_number=lonely.number).exists()


def test_new_buyers_only_refuses_a_joiner_who_bought_before(shops):
    campaign, _item = fixed(shops.a, size=2, new_buyers_only=True)
    veteran = "13700001111"
    other, _ = tiered(shops.a)
    joined_paid(shops.a, other, 1, mobile=veteran)  # she has a paid order in this shop
    leader = join(shops.a, campaign)
    with tenant_context(shops.a):
        team = GroupTeam.objects.get(members__order=leader)
    connection.set_schema_to_public()

    with pytest.raises(ValidationError, match="new to this shop"):
        join(shops.a, campaign, mobile=veteran, team=team.code)
    assert join(shops.a, campaign, team=team.code).number  # a newcomer takes the place
    assert join(shops.a, campaign, mobile=veteran).number  # anyone may open her own group


def test_the_demo_seeds_a_group_buy_in_progress_and_a_group_one_member_short(shops):
    from storefront.groupbuy.demo import FIXED_TITLE, TIERED_TITLE, groupbuy_demo_seed
    from storefront.groupbuy.selectors import live_of

    from .storefront_helpers import listed

    with tenant_context(shops.b):  # only this test's goods qualify
        from storefront.models import Listing

        Listing.objects.update(is_active=False)  # rolled back with the test
    connection.set_schema_to_public()
    listed(shops.b, price=10000, stock=60)
    listed(shops.b, price=10000, stock=60)

    groupbuy_demo_seed(shop=shops.b)
    groupbuy_demo_seed(shop=shops.b)  # again: nothing twice

    with tenant_context(shops.b):
        tiered_buy = GroupBuy.objects.get(title=TIERED_TITLE)
        live = live_of(tiered_buy)
        team = GroupTeam.objects.get(campaign__title=FIXED_TITLE)
    assert (live.buyers, live.next_needed, live.open) == (7, 3, True)
    assert (team.paid_count, team.size, team.status) == (2, 3, "open")
