"""The coupon step of storefront/pricing.py: allocation to the fen, caps, scope and campaigns.

Pure arithmetic (no database): the rule written in pricing's docstring, checked line by line.
"""

from __future__ import annotations

import pytest

from billing.ledger import CaptureLine, capture_split, creator_discount_cap_fen
from core.money import FEN_MAX
from storefront.pricing import (
    CouponTerms,
    Funder,
    PricedLine,
    PricingError,
    allocate_fen,
    coupons_apply,
)

pytestmark = pytest.mark.usefixtures("settings")

BIG = 10**9


def line(item_id: int, price: int, qty: int = 1, campaign: str = "") -> PricedLine:
    return PricedLine(
        item_id=item_id,
        quantity=qty,
        list_price_fen=price,
        unit_price_fen=price,
        campaign=campaign,
    )


def creator(**kw) -> CouponTerms:
    return CouponTerms(source="coupon:C", funded_by=Funder.CREATOR, kind="fixed", **kw)


def platform(amount: int) -> CouponTerms:
    return CouponTerms(
        source="platform:P", funded_by=Funder.PLATFORM, kind="fixed", amount_fen=amount
    )


def shares(lines, funder: Funder) -> list[int]:
    return [ln.coupon_fen(funder) for ln in lines]


def test_an_amount_is_shared_in_proportion_and_the_last_fen_goes_to_the_largest_remainder():
    assert allocate_fen(amount=1000, weights=[3333, 3333, 3334], caps=[BIG] * 3) == [333, 333, 334]
    assert allocate_fen(amount=1000, weights=[1, 2], caps=[BIG] * 2) == [333, 667]


def test_equal_remainders_give_the_fen_to_the_earlier_line():
    assert allocate_fen(amount=2, weights=[1, 1, 1], caps=[BIG] * 3) == [1, 1, 0]


def test_a_line_at_its_cap_keeps_the_cap_and_the_rest_goes_to_the_others():
    assert allocate_fen(amount=100, weights=[50, 50], caps=[10, BIG]) == [10, 90]
    # More than all caps together: each line ends at its cap, nothing more.
    assert allocate_fen(amount=500, weights=[50, 50, 1], caps=[10, 20, 0]) == [10, 20, 0]


def test_three_lines_of_one_fen_with_a_platform_coupon_leave_the_buyer_one_fen_to_pay():
    lines = [line(1, 1), line(2, 1), line(3, 1)]
    priced = coupons_apply(
        lines=lines, coupons=[platform(500)], listing_of={1: 1, 2: 2, 3: 3}, creator_caps=[]
    )
    assert shares(priced, Funder.PLATFORM) == [1, 1, 0]
    assert sum(ln.total_fen for ln in priced) == 1


def test_a_one_fen_order_takes_no_coupon_at_all():
    for coupons, caps in (([platform(100)], []), ([creator(amount_fen=100)], [0])):
        (priced,) = coupons_apply(
            lines=[line(1, 1)], coupons=coupons, listing_of={1: 1}, creator_caps=caps
        )
        assert priced.total_fen == 1 and priced.discounts == ()


def test_a_coupon_worth_everything_ends_at_her_commission_and_the_supplier_is_still_paid():
    lines = [line(1, 8800, qty=2), line(2, 6500)]
    capture = [
        CaptureLine(supplier_id=1, quantity=2, supply_price_fen=5000, retail_price_fen=8800),
        CaptureLine(supplier_id=2, quantity=1, supply_price_fen=5000, retail_price_fen=6500),
    ]
    caps = creator_discount_cap_fen(capture)
    priced = coupons_apply(
        lines=lines,
        coupons=[creator(amount_fen=FEN_MAX)],
        listing_of={1: 1, 2: 2},
        creator_caps=caps,
    )
    assert shares(priced, Funder.CREATOR) == caps
    splits = capture_split(
        lines=[
            CaptureLine(
                supplier_id=c.supplier_id,
                quantity=c.quantity,
                supply_price_fen=c.supply_price_fen,
                retail_price_fen=c.retail_price_fen,
                creator_discount_fen=p.coupon_fen(Funder.CREATOR),
            )
            for c, p in zip(capture, priced, strict=True)
        ]
    )
    assert [s.commission_fen for s in splits] == [0, 0]
    assert [s.supply_fen for s in splits] == [10000, 5000]


def test_a_campaign_priced_line_takes_no_creator_coupon_unless_she_allows_it():
    lines = [line(1, 8000, campaign="flash:7"), line(2, 2000)]
    args = {"listing_of": {1: 1, 2: 2}, "creator_caps": [BIG, BIG]}
    refused = coupons_apply(lines=lines, coupons=[creator(amount_fen=1000)], **args)
    assert shares(refused, Funder.CREATOR) == [0, 1000]
    allowed = coupons_apply(
        lines=lines, coupons=[creator(amount_fen=1000, allow_with_campaign=True)], **args
    )
    assert shares(allowed, Funder.CREATOR) == [800, 200]
    # The platform's coupon is no creator coupon: campaign lines take it.
    both = coupons_apply(lines=lines, coupons=[platform(1000)], **args)
    assert shares(both, Funder.PLATFORM) == [800, 200]


def test_a_minimum_spend_counts_only_the_goods_the_coupon_is_for():
    lines = [line(1, 8800), line(2, 6500)]
    only_first = creator(amount_fen=1000, min_goods_fen=10000, listing_ids=frozenset({1}))
    priced = coupons_apply(
        lines=lines, coupons=[only_first], listing_of={1: 1, 2: 2}, creator_caps=[BIG, BIG]
    )
    assert shares(priced, Funder.CREATOR) == [0, 0]
    two = [line(1, 8800, qty=2), line(2, 6500)]
    priced = coupons_apply(
        lines=two, coupons=[only_first], listing_of={1: 1, 2: 2}, creator_caps=[BIG, BIG]
    )
    assert shares(priced, Funder.CREATOR) == [1000, 0]


def test_a_percentage_stops_at_its_cap_and_the_platform_coupon_comes_after_the_creators():
    lines = [line(1, 8800, qty=2)]
    pct = CouponTerms(
        source="coupon:P20",
        funded_by=Funder.CREATOR,
        kind="percent",
        percent_off=20,
        max_off_fen=3000,
    )
    priced = coupons_apply(
        lines=lines, coupons=[platform(500), pct], listing_of={1: 1}, creator_caps=[BIG]
    )
    assert priced[0].coupon_fen(Funder.CREATOR) == 3000
    assert priced[0].coupon_fen(Funder.PLATFORM) == 500
    assert priced[0].total_fen == 17600 - 3500
    assert [d.source for d in priced[0].discounts] == ["coupon:P20", "platform:P"]


def test_two_creator_coupons_on_one_order_are_refused():
    with pytest.raises(PricingError):
        coupons_apply(
            lines=[line(1, 8800)],
            coupons=[creator(amount_fen=100), creator(amount_fen=200)],
            listing_of={1: 1},
            creator_caps=[BIG],
        )
