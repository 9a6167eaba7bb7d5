"""Placing orders: server prices, shared stock reserved atomically, expiry gives it back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.ledger import CaptureLine, capture_split
from billing.models import JournalEntry, Payment
from catalog.models import SKU
from storefront.models import Order, OrderLine
from storefront.orders.services import (
    OutOfStock,
    Want,
    order_expire,
    order_mark_paid,
    order_payment_start,
    order_place,
    orders_expire_due,
)

from .payments_helpers import post_notification
from .storefront_helpers import BUYER, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def test_an_order_takes_prices_from_the_listing_and_reserves_stock(shops):
    _listing, item = listed(shops.a, price=8800, stock=5)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 2)], buyer=BUYER)
        line = OrderLine.objects.get(order=order)

    assert order.status == Order.Status.PENDING_PAYMENT
    assert (order.goods_fen, order.shipping_fen, order.total_fen) == (17600, 0, 17600)
    assert (line.retail_price_fen, line.supply_price_fen, line.quantity) == (8800, 5000, 2)
    assert len(order.number) == 16
    assert order.pay_deadline > timezone.now() + timedelta(minutes=29)
    assert stock(item.sku_id) == 3


def test_shipping_follows_the_suppliers_template_for_the_province(shops):
    _listing, item = listed(shops.a, price=8800)
    far = BUYER.__class__(**{**BUYER.__dict__, "province": "新疆"})
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 1)], buyer=far)
    # The test template charges 20 yuan for the first kg to Xinjiang; the product weighs 500 g.
    assert (order.shipping_fen, order.total_fen) == (2000, 10800)


def test_bad_quantities_are_refused_and_nothing_is_reserved(shops):
    _listing, item = listed(shops.a, stock=5)
    with tenant_context(shops.a):
        for qty in (0, -1, 100, 1.5, True):
            with pytest.raises(ValidationError) as caught:
                order_place(wants=[Want(item.pk, qty)], buyer=BUYER)
            assert "quantity" in str(caught.value).lower()
        assert not Order.objects.filter(lines__item=item).exists()
    assert stock(item.sku_id) == 5


def test_more_than_the_stock_is_refused_with_a_clear_message(shops):
    _listing, item = listed(shops.a, stock=1)
    with tenant_context(shops.a):
        with pytest.raises(OutOfStock, match="sold out"):
            order_place(wants=[Want(item.pk, 2)], buyer=BUYER)
        assert not Order.objects.filter(lines__item=item).exists()
    assert stock(item.sku_id) == 1


def test_a_failure_on_the_second_sku_gives_back_the_first(shops):
    _l1, plenty = listed(shops.a, stock=5)
    _l2, scarce = listed(shops.a, stock=0)
    SKU.objects.filter(pk=scarce.sku_id).update(stock=1)
    with tenant_context(shops.a):
        with pytest.raises(OutOfStock):
            order_place(wants=[Want(plenty.pk, 2), Want(scarce.pk, 3)], buyer=BUYER)
        assert not Order.objects.filter(lines__item=plenty).exists()
    assert (stock(plenty.sku_id), stock(scarce.sku_id)) == (5, 1)


def test_an_unavailable_listing_cannot_be_ordered(shops):
    listing, item = listed(shops.a)
    with tenant_context(shops.a):
        listing.is_active = False
        listing.save()
        with pytest.raises(Exception, match="not available"):
            order_place(wants=[Want(item.pk, 1)], buyer=BUYER)


def test_another_shops_item_cannot_be_ordered(shops):
    _listing, item_of_a = listed(shops.a)
    with tenant_context(shops.b), pytest.raises(Exception, match="no longer sold"):
        order_place(wants=[Want(item_of_a.pk, 1)], buyer=BUYER)


def test_expiry_releases_the_stock_once(shops):
    _listing, item = listed(shops.a, stock=4)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 3)], buyer=BUYER)
        order_payment_start(order=order, provider="sandbox", return_url="")
        assert stock(item.sku_id) == 1
        assert orders_expire_due() == 0  # not due yet
        closed = orders_expire_due(now=order.pay_deadline + timedelta(seconds=1))
        again = order_expire(order=order)

    assert closed == 1
    assert again.status == Order.Status.EXPIRED
    assert stock(item.sku_id) == 4
    payment = Payment.objects.get(order_number=order.number)
    assert payment.status == Payment.Status.EXPIRED


def test_a_payment_captured_before_expiry_makes_the_order_paid_not_expired(shops):
    _listing, item = listed(shops.a, stock=4)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 1)], buyer=BUYER)
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        result = order_expire(order=order)
    assert result.status == Order.Status.PAID
    assert stock(item.sku_id) == 3


def test_paying_marks_the_order_paid_and_posts_the_capture_once(shops):
    _listing, item = listed(shops.a, price=8800, stock=4)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 2)], buyer=BUYER)
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        paid = order_mark_paid(order_number=order.number, payment_id=payment.pk)

    assert paid.status == Order.Status.PAID and paid.paid_at is not None
    entries = JournalEntry.objects.filter(order_number=order.number)
    assert entries.count() == 1
    amounts = sorted(p.amount for p in entries.get().postings.all())
    # 176.00 paid: supplier 100.00, platform 5% of 176.00 = 8.80, creator 76.00 − 8.80 = 67.20.
    assert amounts == [-10000, -6720, -880, 17600]


def test_the_fee_split_over_lines_sums_to_the_capture():
    lines = [
        CaptureLine(1, 3, 3333, 4999),
        CaptureLine(2, 1, 1000, 1001),
        CaptureLine(1, 7, 10, 99),
    ]
    split = capture_split(lines=lines, take_rate_bp=550)
    goods = sum(ln.retail_price_fen * ln.quantity for ln in lines)
    assert sum(s.fee_fen for s in split) == (goods * 550 + 5000) // 10000
    for line, s in zip(lines, split, strict=True):
        assert 0 <= s.fee_fen <= (line.retail_price_fen - line.supply_price_fen) * line.quantity
    margin = sum((ln.retail_price_fen - ln.supply_price_fen) * ln.quantity for ln in lines)
    assert sum(s.commission_fen + s.fee_fen for s in split) == margin


def test_a_paid_order_with_two_suppliers_goes_to_each_supplier_once(shops):
    from billing.fulfilment.models import SupplierOrder

    _l1, first = listed(shops.a, price=8800)
    _l2, second = listed(shops.a, price=9900)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(first.pk, 1), Want(second.pk, 2)], buyer=BUYER)
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        order_mark_paid(order_number=order.number, payment_id=payment.pk)

    sent = SupplierOrder.objects.filter(tenant=shops.a, order_number=order.number)
    assert sent.count() == 2
    by_supplier = {so.supplier_id: so for so in sent}
    assert by_supplier[first.sku.product.supplier_id].lines.get().quantity == 1
    assert by_supplier[second.sku.product.supplier_id].lines.get().quantity == 2
    assert {so.recipient for so in sent} == {"王小明"}
