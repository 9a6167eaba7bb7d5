"""What a buyer sees on her order page: the order's real state and each line's, paying and
cancelling, and one number for the order (the order page, the pay page, the scan page)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import (
    return_open,
    return_receive,
    supplier_order_deliver,
    supplier_order_ship,
)
from billing.models import Payment, SandboxTrade
from billing.services import sandbox_trade_pay
from catalog.models import SKU
from catalog.testing import supplier_make
from storefront.models import Order
from storefront.orders.services import order_mark_paid

from .payments_helpers import post_notification
from .storefront_helpers import ADDRESS, buy_now, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

REFRESH = '<meta http-equiv="refresh"'


def order_of(shop, item) -> Order:
    with tenant_context(shop):
        order = Order.objects.get(lines__item=item)
    connection.set_schema_to_public()
    return order


def pay(shop, order: Order) -> Payment:
    """The provider's notification captures the payment and the shop books it (the task's
    work, done here in the test's own thread)."""
    payment = Payment.objects.get(tenant=shop, order_number=order.number)
    # The buyer pays on the sandbox's page (so the sandbox can refund it later).
    sandbox_trade_pay(trade=SandboxTrade.objects.get(out_trade_no=payment.out_trade_no))
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shop):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
    connection.set_schema_to_public()
    return payment


def headline(page) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S).group(1).strip()


def state(page) -> str:
    return re.search(r'class="order-state[^"]*">([^<]+)<', page.text).group(1)


def line_states(page) -> list[str]:
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", s)).strip()
        for s in re.findall(r'<span class="line-state[^"]*">(.*?)</span>\s*</li>', page.text, re.S)
    ]


def ship(so: SupplierOrder, *, tracking: str = "SF1234567890") -> SupplierOrder:
    return supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number=tracking
    )


def test_the_order_page_follows_the_order_from_payment_to_refund(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=10)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item, quantity=2)
    order = order_of(shops.a, item)
    url = f"/orders/{order.number}/"

    page = buyer.get(url)
    assert (headline(page), state(page)) == ("Waiting for your payment", "Awaiting payment")

    pay(shops.a, order)
    page = buyer.get(url)
    assert (headline(page), state(page)) == (
        "Thank you! Your order is paid.",
        "Paid, awaiting shipment",
    )
    assert line_states(page) == ["Awaiting shipment"]

    so = ship(SupplierOrder.objects.get(order_number=order.number))
    page = buyer.get(url)
    assert (headline(page), state(page)) == ("Your order is on its way", "Shipped")
    assert line_states(page) == ["Shipped · 顺丰速运 SF1234567890"]
    # The parcel is under its own heading, not under the delivery fee's.
    shipments = re.search(
        r'<h2[^>]* id="shipments-h">Shipments</h2>(.*?)</section>', page.text, re.S
    )
    assert shipments is not None and "SF1234567890" in shipments.group(1)
    assert "<h2>Delivery</h2>" not in page.text

    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=timezone.now() - timedelta(days=2))
    so.refresh_from_db()
    so = supplier_order_deliver(supplier_order=so, delivered_at=timezone.now() - timedelta(days=1))
    page = buyer.get(url)
    assert (headline(page), state(page)) == ("Your order has been delivered", "Delivered")
    assert line_states(page) == ["Delivered · 顺丰速运 SF1234567890"]

    case = return_open(
        tenant=shops.a, order_number=order.number, items=[(so.lines.get().line_ref, 1)]
    )
    assert line_states(buyer.get(url)) == ["Return requested"]

    return_receive(case=case, supplier=so.supplier)
    page = buyer.get(url)
    assert (headline(page), state(page)) == (
        "Part of your order has been refunded",
        "Partly refunded",
    )
    assert line_states(page) == ["Partly refunded · 1 refunded"]

    rest = return_open(
        tenant=shops.a, order_number=order.number, items=[(so.lines.get().line_ref, 1)]
    )
    return_receive(case=rest, supplier=so.supplier)
    page = buyer.get(url)
    assert (headline(page), state(page)) == ("Your order has been refunded", "Refunded")
    assert line_states(page) == ["Refunded"]


def test_goods_of_two_suppliers_show_each_parcel_and_a_partly_shipped_order(shops, shop_client):
    _l1, first = listed(shops.a, price=8800, supplier=supplier_make(), title="辅食碗")
    _l2, second = listed(shops.a, price=9900, supplier=supplier_make(), title="围兜")
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": first.pk, "quantity": 1})
    buyer.post("/cart/add/", {"item": second.pk, "quantity": 1})
    assert buyer.post("/checkout/", ADDRESS).status_code == 302
    order = order_of(shops.a, first)
    pay(shops.a, order)

    bowl = SupplierOrder.objects.get(order_number=order.number, supplier=first.sku.product.supplier)
    ship(bowl, tracking="YT0000000001")
    page = buyer.get(f"/orders/{order.number}/")

    assert (headline(page), state(page)) == ("Part of your order is on its way", "Partly shipped")
    assert sorted(line_states(page)) == ["Awaiting shipment", "Shipped · 顺丰速运 YT0000000001"]


def test_while_the_payment_is_being_confirmed_there_is_no_pay_button(shops, shop_client):
    """The provider's notification captured the payment; the shop's task has not booked it."""
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = order_of(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()

    page = buyer.get(f"/orders/{order.number}/?paying=1")
    assert headline(page) == "Payment received, being confirmed"
    assert "This page refreshes by itself" in page.text
    assert '<meta http-equiv="refresh"' in page.text
    assert "Pay now" not in page.text and "Cancel order" not in page.text

    # A pay tap from a page left open: back to the order page, no "cannot be paid" error.
    tapped = buyer.post(f"/orders/{order.number}/pay/", follow=True)
    assert tapped.redirect_chain == [(f"/orders/{order.number}/", 302)]
    assert "cannot be paid" not in tapped.text
    assert headline(tapped) == "Payment received, being confirmed"
    assert Payment.objects.filter(order_number=order.number).count() == 1


def test_back_from_the_pay_page_the_shop_asks_the_provider_at_once(shops, shop_client):
    """Paid on the provider's page, its notification not here yet: the order page asks."""
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = order_of(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    sandbox_trade_pay(trade=SandboxTrade.objects.get(out_trade_no=payment.out_trade_no))

    page = buyer.get(f"/orders/{order.number}/?paying=1")

    assert headline(page) == "Payment received, being confirmed"
    assert "Pay now" not in page.text
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_a_payment_not_known_yet_is_checked_a_few_times_then_the_page_says_so(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = order_of(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    url = f"/orders/{order.number}/"

    # The provider was asked a moment ago (another tab, a refresh): not known now.
    with tenant_context(shops.a):
        cache.set(f"storefront:pay-check:{payment.pk}", 1, 60)
    connection.set_schema_to_public()
    checking = buyer.get(url + "?paying=1")
    last = buyer.get(url + "?paying=6")
    with tenant_context(shops.a):
        cache.delete(f"storefront:pay-check:{payment.pk}")
    connection.set_schema_to_public()
    asked = buyer.get(url + "?paying=1")

    assert "Checking for your payment" in checking.text
    assert '<meta http-equiv="refresh" content="3;url=?paying=2">' in checking.text
    assert "Pay now" in checking.text  # not known to be paid: she may not have paid
    assert REFRESH not in last.text and "We have not received a payment" in last.text
    assert REFRESH not in asked.text and "We have not received a payment" in asked.text
    for junk in ("x", "99999999999999999999", "-1", "\x00"):
        page = buyer.get(url, {"paying": junk})
        assert page.status_code == 200 and REFRESH not in page.text


def test_cancel_on_the_pay_page_keeps_the_order_and_cancelling_it_refills_the_cart(
    shops, shop_client
):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": item.pk, "quantity": 2})
    placed = buyer.post("/checkout/", ADDRESS)
    order = order_of(shops.a, item)
    assert SKU.objects.get(pk=item.sku_id).stock == 3

    # The provider's "back without paying" returns to the order page: not paid, say so.
    pay_page = urlsplit(placed["Location"])
    back = Client(HTTP_HOST=pay_page.hostname).post(pay_page.path, {"action": "cancel"})
    page = buyer.get(back["Location"].split("a.localhost", 1)[1])
    assert headline(page) == "Waiting for your payment"
    assert "We have not received a payment for this order yet." in page.text
    assert "Pay now" in page.text and "Cancel order" in page.text

    cancelled = buyer.post(f"/orders/{order.number}/cancel/")
    assert cancelled.status_code == 302 and cancelled["Location"] == "/cart/"
    cart = buyer.get("/cart/")
    assert "Order cancelled. Its goods are back in your cart." in cart.text
    assert re.search(r'name="quantity" min="0" max="99" value="2"', cart.text)
    assert SKU.objects.get(pk=item.sku_id).stock == 5
    page = buyer.get(f"/orders/{order.number}/")
    assert (headline(page), state(page)) == ("This order was cancelled", "Cancelled")
    assert "Pay now" not in page.text
    # A second tap changes nothing: the goods are in the cart once, the stock given back once.
    buyer.post(f"/orders/{order.number}/cancel/")
    assert re.search(r'name="quantity" min="0" max="99" value="2"', buyer.get("/cart/").text)
    assert SKU.objects.get(pk=item.sku_id).stock == 5
    payment = Payment.objects.get(order_number=order.number)
    assert payment.status == Payment.Status.EXPIRED


def test_a_stranger_cannot_cancel_someone_elses_order(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buy_now(shop_client("a.localhost"), item)
    order = order_of(shops.a, item)

    stranger = shop_client("a.localhost")
    assert stranger.post(f"/orders/{order.number}/cancel/").status_code == 404
    assert shop_client("b.localhost").post(f"/orders/{order.number}/cancel/").status_code == 404
    with tenant_context(shops.a):
        assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT


def test_a_paid_order_cannot_be_cancelled_by_the_buyer(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = order_of(shops.a, item)
    pay(shops.a, order)

    answer = buyer.post(f"/orders/{order.number}/cancel/")

    assert answer.status_code == 302 and answer["Location"] == f"/orders/{order.number}/"
    with tenant_context(shops.a):
        assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert SKU.objects.get(pk=item.sku_id).stock == 4


def test_the_buyer_sees_one_number_for_her_order(shops, shop_client):
    _listing, item = listed(shops.a, stock=5, title="辅食碗")
    buyer = shop_client("a.localhost")
    placed = buy_now(buyer, item)
    order = order_of(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert payment.out_trade_no != order.number

    pay_url = urlsplit(placed["Location"])
    pay_page = Client(HTTP_HOST=pay_url.hostname).get(pay_url.path)
    order_page = buyer.get(f"/orders/{order.number}/")
    Payment.objects.filter(pk=payment.pk).update(
        checkout_kind="qrcode", checkout_url="weixin://wxpay/bizpayurl?pr=AbCdEf1"
    )
    scan_page = buyer.get(f"/orders/{order.number}/scan/")

    for page in (pay_page, order_page, scan_page):
        assert page.status_code == 200
        assert order.number in page.text
        assert payment.out_trade_no not in page.text
    assert f"Order {order.number} · 辅食碗" in pay_page.text


def test_the_share_link_makes_no_promise_of_a_coupon(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = order_of(shops.a, item)
    pay(shops.a, order)

    page = buyer.get(f"/orders/{order.number}/")

    assert 'class="share-url"' in page.text
    assert "coupon" not in page.text.lower()


def test_my_orders_lists_each_order_by_its_real_state(shops, shop_client, mailoutbox):
    _listing, item = listed(shops.a, stock=5)
    buy_now(shop_client("a.localhost"), item, contact="mum-state@example.com")
    order = order_of(shops.a, item)
    pay(shops.a, order)
    ship(SupplierOrder.objects.get(order_number=order.number))

    again = shop_client("a.localhost")
    again.post("/me/code/", {"contact": "mum-state@example.com"})
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    mine = again.post("/me/verify/", {"code": code}, follow=True)

    row = re.search(
        rf'class="order-state[^"]*">([^<]+)</span>\s*<span class="account-order-meta">'
        rf'<span class="account-order-number">{order.number}<',
        mine.text,
    )
    assert row is not None and row.group(1) == "Shipped"
