"""A return's parcel: the buyer sees where to send the goods (the supplier's return address) and
enters the carrier and tracking number; the supplier sees them on its returns page."""

from __future__ import annotations

import html as htmllib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import override
from django_tenants.utils import tenant_context

from billing.fulfilment import services
from billing.fulfilment.models import FulfilmentEvent, ReturnCase, SupplierOrder
from billing.fulfilment.testing import payment_captured_sandbox
from catalog.models import Supplier
from storefront.orders.services import Want, order_mark_paid, order_place

from .storefront_helpers import BUYER, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

ADDRESS = "浙江省杭州市余杭区仓前街道文一西路 998 号 3 号仓"


def returned_order(shop, shop_client, *, host: str = "a.localhost"):
    """A paid, delivered order of SHOP with a return requested; (buyer's client, order, case)."""
    listing, item = listed(shop, price=8800, stock=10)
    Supplier.objects.filter(pk=listing.product.supplier_id).update(address=ADDRESS)
    with tenant_context(shop):
        order = order_place(wants=[Want(item_id=item.pk, quantity=2)], buyer=BUYER)
        payment = payment_captured_sandbox(
            tenant=shop, amount=order.total_fen, order_number=order.number
        )
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        line = order.lines.get()
    connection.set_schema_to_public()
    so = SupplierOrder.objects.get(tenant=shop, order_number=order.number)
    so = services.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF1234567890"
    )
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=timezone.now() - timedelta(days=2))
    so.refresh_from_db()
    services.supplier_order_deliver(
        supplier_order=so, delivered_at=timezone.now() - timedelta(days=1)
    )
    [case] = services.returns_open(
        tenant=shop, order_number=order.number, items=[(line.pk, 1)], reason=""
    )
    buyer = shop_client(host)
    remember(buyer, shop, order.number)
    return buyer, order, case


def remember(client, shop, number: str) -> None:
    """The order in the visitor's session, as after checkout or a lookup (sessions are kept in
    each shop's schema)."""
    with tenant_context(shop):
        session = client.session
        session["storefront_orders"] = [number]
        session.save()
    connection.set_schema_to_public()


def page_text(client, order) -> str:
    with override("en"):
        response = client.get(f"/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="en")
    connection.set_schema_to_public()
    assert response.status_code == 200
    return htmllib.unescape(response.text)


def send_parcel(client, order, case, **data):
    with override("en"):
        response = client.post(
            f"/orders/{order.number}/return/{case.pk}/parcel/", data, HTTP_ACCEPT_LANGUAGE="en"
        )
    connection.set_schema_to_public()
    return response


def test_a_requested_return_shows_the_suppliers_return_address(shops, shop_client):
    buyer, order, case = returned_order(shops.a, shop_client)
    supplier = case.supplier_order.supplier

    text = page_text(buyer, order)

    assert "Send the goods back to" in text
    assert ADDRESS in text
    assert supplier.contact_name in text and supplier.company_name in text
    assert f'href="tel:{supplier.contact_phone}"' in text
    assert 'name="return_tracking_number"' in text and 'name="return_carrier"' in text


def test_the_buyer_enters_the_return_tracking_number_and_the_supplier_sees_it(shops, shop_client):
    buyer, order, case = returned_order(shops.a, shop_client)

    answer = send_parcel(
        buyer, order, case, return_carrier="中通快递", return_tracking_number=" zt 7766 5544 "
    )

    assert answer.status_code == 302
    assert answer["Location"] == f"/orders/{order.number}/#return-{case.pk}"
    case.refresh_from_db()
    assert (case.return_carrier, case.return_tracking_number) == ("中通快递", "zt77665544")
    assert case.return_shipped_at is not None
    assert FulfilmentEvent.objects.filter(return_case=case, action="return_sent").count() == 1
    text = page_text(buyer, order)
    assert "Your parcel: 中通快递" in text and "zt77665544" in text

    # The same values again (a double tap) record nothing new.
    send_parcel(buyer, order, case, return_carrier="中通快递", return_tracking_number="zt77665544")
    assert FulfilmentEvent.objects.filter(return_case=case, action="return_sent").count() == 1

    portal = shop_client("localhost")
    portal.force_login(case.supplier_order.supplier.user)
    with override("en"):
        returns_page = portal.get("/supplier/fulfilment/returns/").text
    assert "中通快递 zt77665544" in returns_page


def test_a_wrong_tracking_number_or_unsafe_carrier_is_refused_with_a_message(shops, shop_client):
    buyer, order, case = returned_order(shops.a, shop_client)

    for data in (
        {"return_carrier": "中通快递", "return_tracking_number": "12"},
        {"return_carrier": "中通快递", "return_tracking_number": "ZT<script>1"},
        {"return_carrier": "", "return_tracking_number": "ZT77665544"},
        {"return_carrier": "中通\u202e快递", "return_tracking_number": "ZT77665544"},
        {"return_carrier": "中通\x00快递", "return_tracking_number": "ZT77665544"},
        {"return_carrier": "x" * 10_000, "return_tracking_number": "ZT77665544"},
    ):
        answer = send_parcel(buyer, order, case, **data)
        assert answer.status_code == 302, data
        with override("en"):
            shown = buyer.get(answer["Location"]).text
        connection.set_schema_to_public()
        assert 'class="message error"' in shown, data

    case.refresh_from_db()
    assert case.return_tracking_number == "" and case.return_carrier == ""


def test_another_visitor_order_or_shop_cannot_touch_the_return(shops, shop_client):
    buyer, order, case = returned_order(shops.a, shop_client)
    _other_buyer, other_order, _other_case = returned_order(shops.a, shop_client)
    good = {"return_carrier": "中通快递", "return_tracking_number": "ZT77665544"}

    # A stranger without the order in her session.
    assert send_parcel(shop_client("a.localhost"), order, case, **good).status_code == 404
    # The buyer's own order number with another order's return.
    assert send_parcel(buyer, order, _other_case, **good).status_code == 404
    # The same order number and return on another shop's host.
    elsewhere = shop_client("b.localhost")
    remember(elsewhere, shops.b, order.number)
    assert send_parcel(elsewhere, order, case, **good).status_code == 404
    assert send_parcel(buyer, other_order, case, **good).status_code == 404

    assert not ReturnCase.objects.exclude(return_tracking_number="").filter(
        pk__in=[case.pk, _other_case.pk]
    )


def test_once_the_goods_are_received_the_parcel_can_no_longer_change(shops, shop_client):
    buyer, order, case = returned_order(shops.a, shop_client)
    send_parcel(buyer, order, case, return_carrier="中通快递", return_tracking_number="ZT77665544")
    services.return_receive(case=case, supplier=case.supplier_order.supplier)
    case.refresh_from_db()
    assert case.status == ReturnCase.Status.REFUNDED

    answer = send_parcel(
        buyer, order, case, return_carrier="圆通速递", return_tracking_number="YT1111111111"
    )

    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.return_tracking_number == "ZT77665544"
    text = page_text(buyer, order)
    assert "Send the goods back to" not in text  # nothing left to send
    assert "Your parcel: 中通快递" in text
