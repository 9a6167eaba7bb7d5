"""Who pays for a coupon, to the fen: the capture entry with creator- and platform-funded
discounts, the creator's cap, and the figures handed to fulfilment (issue 12)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.fulfilment.models import SupplierOrderLine
from billing.fulfilment.services import FulfilmentLine, supplier_orders_create
from billing.fulfilment.testing import SHIP_TO, Item, order_paid
from billing.ledger import (
    AccountRef,
    CaptureLine,
    LedgerError,
    capture_key,
    capture_post,
    capture_split,
    creator_discount_cap_fen,
)
from billing.ledger_selectors import balances_recompute_check, entry_by_key
from billing.models import AccountKind, JournalEntry, LedgerAccount
from catalog.testing import first_sku, product_make

from .documents_helpers import payment_captured, supplier_new, tenant_bare

pytestmark = [pytest.mark.django_db]


def postings(key: str) -> Counter[tuple[AccountRef, int]]:
    """The entry's postings as (account, signed fen) pairs: an account may appear twice."""
    entry = entry_by_key(key=key)
    assert entry is not None, key
    return Counter(
        (AccountRef.of(p.account), p.amount) for p in entry.postings.select_related("account")
    )


def three_lines(a: int, b: int, *, creator: tuple[int, int, int], platform: tuple[int, int, int]):
    """An order with awkward figures: 3 × ¥59.99 (supply ¥33.33, ¥8 delivery), a ¥0.01 line sold
    at its supply price, 2 × ¥19.99 (supply ¥12.00).

    Goods 21996 fen, fee 5% = 1099.8 → 1100, shared by margin (7998, 0, 1598) with the largest
    remainder: 917, 0, 183; commission before coupons 7081, 0, 1415 (the creator's caps).
    """
    return [
        CaptureLine(a, 3, 3333, 5999, shipping_fen=800, creator_discount_fen=creator[0],
                    platform_discount_fen=platform[0]),
        CaptureLine(b, 1, 1, 1, creator_discount_fen=creator[1], platform_discount_fen=platform[1]),
        CaptureLine(a, 2, 1200, 1999, creator_discount_fen=creator[2],
                    platform_discount_fen=platform[2]),
    ]  # fmt: skip


def test_the_creator_may_fund_at_most_her_commission_on_each_line():
    plain = three_lines(1, 2, creator=(0, 0, 0), platform=(0, 0, 0))
    assert creator_discount_cap_fen(plain) == [7081, 0, 1415]
    # Coupons change no one's share but their funder's: the caps and the fee stay put.
    with_coupons = three_lines(1, 2, creator=(2000, 0, 1415), platform=(1500, 1, 333))
    assert creator_discount_cap_fen(with_coupons) == [7081, 0, 1415]
    splits = capture_split(lines=with_coupons, take_rate_bp=500)
    assert [s.fee_fen for s in splits] == [917, 0, 183]
    assert [s.commission_fen for s in splits] == [5081, 0, 0]
    assert [s.supply_fen for s in splits] == [3 * 3333 + 800, 1, 2 * 1200]
    assert [s.paid_fen for s in splits] == [17997 + 800 - 3500, 0, 3998 - 1748]


def test_capture_with_both_coupons_balances_to_the_fen():
    tenant, one, two = tenant_bare(), supplier_new(), supplier_new("瓷器厂")
    lines = three_lines(one.pk, two.pk, creator=(2000, 0, 1415), platform=(1500, 1, 333))
    # Paid: goods 21996 + delivery 800 − the creator's 3415 − the platform's 1834.
    payment = payment_captured(tenant, 17547)

    capture_post(payment=payment, lines=lines, take_rate_bp=500)

    assert postings(capture_key(payment)) == Counter(
        {
            (AccountRef.clearing("sandbox"), 17547): 1,
            # The platform's coupons are its marketing expense, more than its fee of 11.00.
            (AccountRef.platform_marketing(), 1834): 1,
            # Suppliers get their full supply price (and the delivery charge) whatever the coupons.
            (AccountRef.supplier_payable(one.pk), -(3 * 3333 + 800 + 2 * 1200)): 1,
            (AccountRef.supplier_payable(two.pk), -1): 1,
            # The creator's commission before her coupons, and her coupons apart.
            (AccountRef.commission_pending(tenant.pk), -(7081 + 1415)): 1,
            (AccountRef.commission_pending(tenant.pk), 2000 + 1415): 1,
            (AccountRef.platform_revenue(), -1100): 1,
        }
    )
    assert balances_recompute_check() == []


def test_a_creator_coupon_above_her_commission_is_refused_and_nothing_is_posted():
    tenant, one, two = tenant_bare(), supplier_new(), supplier_new("瓷器厂")
    lines = three_lines(one.pk, two.pk, creator=(0, 0, 1416), platform=(0, 0, 0))
    payment = payment_captured(tenant, 21996 - 1416 + 800)

    with pytest.raises(LedgerError, match="more than her commission of 1415 fen"):
        capture_post(payment=payment, lines=lines, take_rate_bp=500)
    with pytest.raises(LedgerError, match="more than her commission"):
        capture_split(lines=lines, take_rate_bp=500)
    # The ¥0.01 line has no margin at all: no creator coupon may touch it.
    free = three_lines(one.pk, two.pk, creator=(0, 1, 0), platform=(0, 0, 0))
    with pytest.raises(LedgerError, match="more than her commission of 0 fen"):
        capture_split(lines=free, take_rate_bp=500)
    assert not JournalEntry.objects.filter(idempotency_key=capture_key(payment)).exists()


@pytest.mark.parametrize(
    ("creator", "platform", "message"),
    [
        ((0, 0, 0), (18798, 0, 0), "discounts exceed the line's price"),
        ((2000, 0, 0), (15998, 0, 0), "discounts exceed the line's price"),
        ((-1, 0, 0), (0, 0, 0), "not negative"),
        ((0, 0, 0), (0, 0, True), "not negative"),
    ],
)
def test_malformed_coupon_shares_are_refused(creator, platform, message):
    tenant, one, two = tenant_bare(), supplier_new(), supplier_new("瓷器厂")
    lines = three_lines(one.pk, two.pk, creator=creator, platform=platform)
    with pytest.raises(LedgerError, match=message):
        capture_post(payment=payment_captured(tenant, 1), lines=lines, take_rate_bp=500)


def test_the_payment_must_be_what_the_buyer_paid_after_coupons():
    tenant, one, two = tenant_bare(), supplier_new(), supplier_new("瓷器厂")
    lines = three_lines(one.pk, two.pk, creator=(100, 0, 0), platform=(0, 0, 50))
    list_price = payment_captured(tenant, 21996 + 800)
    with pytest.raises(LedgerError, match=r"lines total 22646 fen .*coupons 150"):
        capture_post(payment=list_price, lines=lines, take_rate_bp=500)


def test_a_whole_order_paid_by_a_platform_coupon_but_its_delivery():
    """A 100% platform coupon: the buyer pays only the delivery; the supplier still gets all."""
    tenant, one = tenant_bare(), supplier_new()
    lines = [CaptureLine(one.pk, 3, 1, 1, shipping_fen=1, platform_discount_fen=3)]
    payment = payment_captured(tenant, 1)
    capture_post(payment=payment, lines=lines, take_rate_bp=500)
    assert postings(capture_key(payment)) == Counter(
        {
            (AccountRef.clearing("sandbox"), 1): 1,
            (AccountRef.platform_marketing(), 3): 1,
            (AccountRef.supplier_payable(one.pk), -4): 1,
        }
    )


def test_the_marketing_account_belongs_to_the_platform_alone(shops):
    with pytest.raises(LedgerError, match="owned by the platform alone"):
        AccountRef(AccountKind.PLATFORM_MARKETING.value, tenant_id=shops.a.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind=AccountKind.PLATFORM_MARKETING, tenant=shops.a)


def test_fulfilment_keeps_each_lines_coupons_and_refuses_figures_that_do_not_add_up(
    shops, catalog_media
):
    tea = product_make(title="龙井茶")  # supply price 50.00
    sku = first_sku(tea)
    payment, [so], [ref] = order_paid(
        tenant=shops.a,
        items=[Item(sku, 3, 9990, creator_discount_fen=1001, platform_discount_fen=2002)],
    )
    line = SupplierOrderLine.objects.get(supplier_order=so, line_ref=ref)
    # fee 5% of 299.70 = 14.985 → 14.99; commission 3 × 49.90 − 14.99 − 10.01.
    assert (line.fee_fen, line.commission_fen) == (1499, 14970 - 1499 - 1001)
    assert (line.creator_discount_fen, line.platform_discount_fen) == (1001, 2002)
    assert payment.amount == 3 * 9990 - 1001 - 2002

    # Commission handed over before the creator's coupon (not from capture_split): refused.
    wrong = FulfilmentLine(
        line_ref=ref + 10_000,
        sku_id=sku.pk,
        supplier_id=tea.supplier_id,
        title="龙井茶",
        option_label="",
        quantity=3,
        retail_price_fen=9990,
        supply_price_fen=5000,
        shipping_fen=0,
        fee_fen=1499,
        commission_fen=14970 - 1499,
        creator_discount_fen=1001,
    )
    with pytest.raises(ValidationError, match="not supply \\+ fee \\+ commission"):
        supplier_orders_create(
            tenant=shops.a,
            order_number=payment.order_number,
            payment=payment,
            ship_to=SHIP_TO,
            lines=[wrong],
        )
