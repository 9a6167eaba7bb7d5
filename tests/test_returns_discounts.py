"""Returns after a coupon: the buyer gets back what she paid, the creator gives back her
commission net of her coupon, each coupon's share is reversed in proportion to the units and the
last unit takes the rest, so a line returned in parts is undone to the fen (issue 12)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.documents.models import Statement
from billing.documents.selectors import statement_figures
from billing.fulfilment import services, settlement
from billing.fulfilment.models import SupplierOrder, SupplierOrderLine
from billing.fulfilment.services import return_shares
from billing.fulfilment.testing import Item, order_paid
from billing.ledger import AccountRef
from billing.ledger_selectors import (
    balances_recompute_check,
    coupon_costs,
    entries_for_order,
    entry_by_key,
)
from billing.models import Payment
from catalog.templatetags.catalog_tags import yuan
from catalog.testing import first_sku, product_make

from . import c2_helpers
from .documents_helpers import tenant_bare

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def tea(catalog_media):
    return product_make(title="龙井茶")  # supply price 50.00


def delivered(so: SupplierOrder, *, at) -> SupplierOrder:
    services.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="中通快递", tracking_number="ZT20261201"
    )
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=at - timedelta(days=1))
    so.refresh_from_db()
    return services.supplier_order_deliver(supplier_order=so, supplier=so.supplier, delivered_at=at)


def postings(key: str) -> Counter[tuple[AccountRef, int]]:
    entry = entry_by_key(key=key)
    assert entry is not None, key
    return Counter(
        (AccountRef.of(p.account), p.amount) for p in entry.postings.select_related("account")
    )


def order_totals(tenant, order_number: str) -> dict[AccountRef, int]:
    """Every account's net over the order's entries (capture, returns, settlement)."""
    totals: defaultdict[AccountRef, int] = defaultdict(int)
    for entry in entries_for_order(tenant=tenant, order_number=order_number):
        for p in entry.postings.select_related("account"):
            totals[AccountRef.of(p.account)] += p.amount
    return dict(totals)


# 3 × 99.90 with ¥8 delivery, a creator coupon of 10.01 and a platform coupon of 20.02 on the line:
# fee 5% of 299.70 → 14.99, commission 149.70 − 14.99 − 10.01 = 124.70, paid 269.67 + 8.00.
LINE = {"quantity": 3, "retail_price_fen": 9990, "shipping_fen": 800}
COUPONS = {"creator_discount_fen": 1001, "platform_discount_fen": 2002}


def test_returning_a_couponed_line_in_two_parts_undoes_it_to_the_fen(shops, tea, mailoutbox):
    sku = first_sku(tea)
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(sku, **LINE, **COUPONS)])
    assert payment.amount == 29970 - 3003 + 800
    delivered(so, at=timezone.now() - timedelta(days=1))
    pending, marketing = AccountRef.commission_pending(shops.a.pk), AccountRef.platform_marketing()
    supplier, clearing = (
        AccountRef.supplier_payable(tea.supplier_id),
        AccountRef.clearing("sandbox"),
    )

    # One unit: kept (fee + her coupon) ⌊2500 / 3⌋ = 833, her coupon ⌊1001 × 833 / 2500⌋ = 333,
    # fee 500; she gives back 49.90 − 8.33 = 41.57; paid in 99.90 − 3.33 = 96.57 of which the
    # platform's coupon ⌊2002 × 9657 / 28969⌋ = 6.67: the buyer gets back 89.90, not 99.90.
    first = services.return_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)]
    )
    assert first.refund_fen == 8990  # the estimate shown while the parcel travels
    first = services.return_receive(case=first, supplier=tea.supplier)
    assert (first.refund_fen, first.shipping_refund_fen) == (8990, 0)
    [row] = first.lines.all()
    assert (row.supply_fen, row.fee_fen, row.commission_fen) == (5000, 500, 4157)
    assert (row.creator_discount_fen, row.platform_discount_fen) == (333, 667)
    assert postings(f"return:{first.pk}:reverse") == Counter(
        {
            (supplier, 5000): 1,
            (pending, 4157 + 333): 1,  # her commission on the unit before her coupon …
            (pending, -333): 1,  # … and her coupon's share, reversed apart
            (AccountRef.platform_revenue(), 500): 1,
            (marketing, -667): 1,
            (clearing, -8990): 1,
        }
    )

    # The other two units: the last unit takes what is left of every share, and the delivery
    # charge goes back since nothing of the parcel is kept.
    rest = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 2)])
    rest = services.return_receive(case=rest, supplier=tea.supplier)
    [row] = rest.lines.all()
    assert (row.supply_fen, row.fee_fen, row.commission_fen) == (10000, 1499 - 500, 12470 - 4157)
    assert (row.creator_discount_fen, row.platform_discount_fen) == (1001 - 333, 2002 - 667)
    assert (rest.refund_fen, rest.shipping_refund_fen) == (26967 - 8990 + 800, 800)

    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, payment.amount)
    # Every account the order touched is back where it was: nothing left over, nothing short.
    assert {
        ref: total for ref, total in order_totals(shops.a, payment.order_number).items() if total
    } == {}
    assert balances_recompute_check() == []


def test_the_creator_keeps_her_net_on_kept_units_and_settlement_moves_exactly_that(shops, tea):
    sku = first_sku(tea)
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(sku, **LINE, **COUPONS)])
    delivered_at = timezone.now() - timedelta(days=8)
    so = delivered(so, at=delivered_at)
    case = services.return_open(
        tenant=shops.a,
        order_number=payment.order_number,
        items=[(ref, 1)],
        override_window=True,
    )
    services.return_receive(case=case, supplier=tea.supplier)

    assert settlement.settlement_run(now=timezone.now()) >= 1
    settled = postings(f"settle:{so.pk}")
    # Two units kept: commission 124.70 − 41.57 clawed back; the supplier its full supply
    # price for them and the delivery charge.
    pending, available = (
        AccountRef.commission_pending(shops.a.pk),
        AccountRef.commission_available(shops.a.pk),
    )
    assert settled[(pending, 12470 - 4157)] == 1
    assert settled[(available, -(12470 - 4157))] == 1
    assert settled[(AccountRef.supplier_available(tea.supplier_id), -(2 * 5000 + 800))] == 1
    totals = order_totals(shops.a, payment.order_number)
    assert totals.get(pending, 0) == 0
    assert totals[AccountRef.platform_marketing()] == 2002 - 667
    assert balances_recompute_check() == []


def test_the_creators_statement_shows_both_coupons_apart_net_of_returns(tea):
    shop = tenant_bare("优惠小店")  # a shop whose books hold only this test's entries
    payment, [so], [ref] = order_paid(tenant=shop, items=[Item(first_sku(tea), **LINE, **COUPONS)])
    delivered(so, at=timezone.now() - timedelta(days=1))
    case = services.return_open(tenant=shop, order_number=payment.order_number, items=[(ref, 1)])
    services.return_receive(case=case, supplier=tea.supplier)

    month = timezone.localdate().replace(day=1)
    f = statement_figures(kind=Statement.Kind.CREATOR, owner=shop, month=month)
    # Her coupon 10.01 less the returned unit's share 3.33; the platform's 20.02 less 6.67.
    assert (f["creator_coupons_fen"], f["platform_coupons_fen"]) == (1001 - 333, 2002 - 667)
    # Her commission is already net of her coupon: 124.70 earned, 41.57 clawed back.
    assert (f["totals"]["sales"], f["totals"]["returns"]) == (12470, -4157)
    assert f["buyers_paid_fen"] == payment.amount
    html = render_to_string("documents/statement.html", {"statement": Statement(), "f": f})
    assert '<td>优惠券（店铺承担）</td><td class="num">6.68</td>' in html
    assert '<td>优惠券（平台承担）</td><td class="num">13.35</td>' in html


@pytest.mark.usefixtures("catalog_english")
def test_the_creators_earnings_page_shows_both_coupons_apart(shops, tea, creator):
    before = coupon_costs(tenant_id=shops.a.pk)
    item = Item(first_sku(tea), **LINE, **COUPONS)
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[item])
    delivered(so, at=timezone.now() - timedelta(days=1))
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])
    services.return_receive(case=case, supplier=tea.supplier)
    after = coupon_costs(tenant_id=shops.a.pk)
    assert (after.creator_fen - before.creator_fen, after.platform_fen - before.platform_fen) == (
        1001 - 333,
        2002 - 667,
    )

    page = creator("a").get("/admin/earnings/").text
    assert f'data-figure="creator_coupons">{yuan(after.creator_fen)}<' in page
    assert f'data-figure="platform_coupons">{yuan(after.platform_fen)}<' in page
    assert "Coupons (funded by your shop)" in page


@override_settings(VSTORE_ORDER_REFUNDED_HOOK=c2_helpers.HOOK_PATH)
def test_the_shop_is_told_of_each_refund_and_when_the_order_is_refunded_in_full(
    shops, tea, django_capture_on_commit_callbacks
):
    sku = first_sku(tea)
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(sku, **LINE, **COUPONS)])
    delivered(so, at=timezone.now() - timedelta(days=1))
    c2_helpers.REFUNDS_TOLD.clear()
    number = payment.order_number

    with django_capture_on_commit_callbacks(execute=True):
        case = services.return_open(tenant=shops.a, order_number=number, items=[(ref, 1)])
        services.return_receive(case=case, supplier=tea.supplier)
    assert [(shops.a.pk, number, False)] == c2_helpers.REFUNDS_TOLD

    # A repeated confirmation refunds nothing more and tells nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(case=case, supplier=tea.supplier)
    assert len(c2_helpers.REFUNDS_TOLD) == 1

    with django_capture_on_commit_callbacks(execute=True):
        case = services.return_open(tenant=shops.a, order_number=number, items=[(ref, 2)])
        services.return_receive(case=case, supplier=tea.supplier)
    assert [(shops.a.pk, number, False), (shops.a.pk, number, True)] == c2_helpers.REFUNDS_TOLD


@pytest.mark.usefixtures("catalog_media", "catalog_english")
def test_real_coupons_come_back_only_when_the_order_is_returned_in_full(
    shops, django_capture_on_commit_callbacks
):
    """The whole path through the real checkout and the default hook: 2 × ¥88.00 with a ¥5
    creator coupon and a ¥3 platform coupon; one unit back, then the other."""
    from django_tenants.utils import tenant_context

    from storefront.coupons.models import CouponClaim, CouponRedemption

    from .storefront_helpers import ship_and_deliver

    order, claim, platform = c2_helpers.couponed_order_paid(
        shops.a, quantity=2, creator_off_fen=500, platform_off_fen=300
    )
    so = ship_and_deliver(order)
    line = so.lines.get()
    assert (line.creator_discount_fen, line.platform_discount_fen) == (500, 300)

    def give_back(units: int):
        with django_capture_on_commit_callbacks(execute=True):
            case = services.return_open(
                tenant=shops.a, order_number=order.number, items=[(line.line_ref, units)]
            )
            return services.return_receive(case=case, supplier=so.supplier)

    def coupons_state() -> tuple[str, str, int]:
        platform.refresh_from_db()
        with tenant_context(shops.a):
            state = CouponClaim.objects.get(pk=claim.pk).state
            redemption = CouponRedemption.objects.get(order__number=order.number).status
        return state, redemption, platform.spent_fen

    # Fee 5% of 176.00 = 8.80; kept ⌊(880 + 500) / 2⌋ = 690, her coupon's share 250, the
    # platform's ⌊300 × 8550 / 17100⌋ = 150: the buyer gets back 88.00 − 2.50 − 1.50.
    first = give_back(1)
    assert first.refund_fen == 8400
    assert coupons_state() == ("used", "used", 300)  # a partial refund keeps the coupons used

    rest = give_back(1)
    assert rest.refund_fen - rest.shipping_refund_fen == 17600 - 800 - 8400
    assert coupons_state() == ("available", "released", 0)  # back in her wallet and budget
    totals = order_totals(shops.a, order.number)
    assert {ref: total for ref, total in totals.items() if total} == {}
    assert balances_recompute_check() == []


def test_units_the_platform_paid_for_entirely_are_returned_without_a_refund(shops, tea):
    """A whole line free to the buyer (a platform coupon worth all of it): returning it gives
    her nothing back (no refund of 0 fen is asked for) but still undoes its shares."""
    free = Item(first_sku(tea), 1, 9990, platform_discount_fen=9990)
    paid = Item(tea.skus.order_by("id")[1], 1, 9990)
    payment, [so], [ref_free, _ref_paid] = order_paid(tenant=shops.a, items=[free, paid])
    delivered(so, at=timezone.now() - timedelta(days=1))
    case = services.return_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref_free, 1)]
    )
    case = services.return_receive(case=case, supplier=tea.supplier)
    assert (case.status, case.refund_fen, case.refund) == ("refunded", 0, None)
    [row] = case.lines.all()
    assert (row.supply_fen, row.platform_discount_fen) == (5000, 9990)
    payment.refresh_from_db()
    assert payment.refunded_amount == 0
    assert postings(f"return:{case.pk}:reverse")[(AccountRef.platform_marketing(), -9990)] == 1
    assert balances_recompute_check() == []


def _line(q, retail, supply, fee, creator, platform) -> SupplierOrderLine:
    return SupplierOrderLine(
        quantity=q,
        retail_price_fen=retail,
        supply_price_fen=supply,
        fee_fen=fee,
        commission_fen=(retail - supply) * q - fee - creator,
        creator_discount_fen=creator,
        platform_discount_fen=platform,
    )


@st.composite
def line_and_returns(draw):
    """A line with any legal figures (tiny ones most of all: 1 fen, 100% coupons, a coupon equal
    to the whole commission) and the units returned in any number of parts."""
    q = draw(st.integers(1, 7))
    retail = draw(st.one_of(st.integers(1, 3), st.integers(1, 20_000)))
    supply = draw(st.integers(0, retail))
    margin = (retail - supply) * q
    fee = draw(st.integers(0, margin))
    creator = draw(st.one_of(st.just(margin - fee), st.integers(0, margin - fee)))
    platform = draw(st.one_of(st.just(retail * q - creator), st.integers(0, retail * q - creator)))
    parts, left = [], q
    while left:
        part = draw(st.integers(1, left))
        parts.append(part)
        left -= part
    return _line(q, retail, supply, fee, creator, platform), parts


@settings(max_examples=400, deadline=None, database=None)
@given(line_and_returns())
def test_return_shares_are_never_negative_and_a_full_return_is_exact(case):
    line, parts = case
    done = 0
    sums: Counter[str] = Counter()
    for part in parts:
        shares = return_shares(line, done=done, units=part)
        figures = vars(shares)
        assert all(value >= 0 for value in figures.values()), (line.__dict__, parts, figures)
        # What came in for the units (buyer + platform coupon) is what goes back out.
        assert shares.supply_fen + shares.fee_fen + shares.commission_fen == (
            shares.refund_fen + shares.platform_discount_fen
        )
        assert shares.supply_fen == line.supply_price_fen * part  # never a fen short
        sums.update(figures)
        done += part
    expected = {
        "supply_fen": line.supply_price_fen * line.quantity,
        "fee_fen": line.fee_fen,
        "commission_fen": line.commission_fen,
        "creator_discount_fen": line.creator_discount_fen,
        "platform_discount_fen": line.platform_discount_fen,
        "refund_fen": line.retail_price_fen * line.quantity
        - line.creator_discount_fen
        - line.platform_discount_fen,
    }
    assert {key: sums[key] for key in expected} == expected
