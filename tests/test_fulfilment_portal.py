"""Supplier portal: the to-ship queue, shipping and delivery, returns; each supplier its own."""

from __future__ import annotations

import pytest

from billing.fulfilment import services
from billing.fulfilment.models import ReturnCase, SupplierOrder
from billing.fulfilment.testing import Item, order_paid
from billing.models import Refund
from catalog.testing import first_sku, product_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]


@pytest.fixture
def two_suppliers(catalog_media, shops, shop_client):
    tea = product_make(title="龙井茶")
    bowl = product_make(title="青瓷碗")
    _p, [tea_order], _r = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    _p, [bowl_order], _r = order_paid(tenant=shops.b, items=[Item(first_sku(bowl), 2, 8000)])
    client = shop_client("localhost")
    client.force_login(tea.supplier.user)
    return tea_order, bowl_order, client


def test_the_queue_lists_only_the_suppliers_own_orders_to_ship(two_suppliers):
    tea_order, bowl_order, client = two_suppliers

    response = client.get("/supplier/fulfilment/")

    assert response.status_code == 200
    assert tea_order.order_number in response.text
    assert "龙井茶" in response.text
    assert bowl_order.order_number not in response.text


def test_an_empty_queue_says_so(catalog_media, shop_client):
    supplier = product_make().supplier
    client = shop_client("localhost")
    client.force_login(supplier.user)

    response = client.get("/supplier/fulfilment/")

    assert response.status_code == 200
    assert "Nothing to ship right now" in response.text


def test_a_long_queue_is_paginated(catalog_media, shops, shop_client):
    sku = first_sku(product_make())
    for _ in range(26):
        order_paid(tenant=shops.a, items=[Item(sku, 1, 9000)])
    client = shop_client("localhost")
    client.force_login(sku.product.supplier.user)

    first = client.get("/supplier/fulfilment/")
    second = client.get("/supplier/fulfilment/?page=2")

    assert "Page 1 of 2" in first.text
    assert (
        first.text.count("/supplier/fulfilment/") - second.text.count("/supplier/fulfilment/") == 24
    )


def test_ship_with_a_tracking_number_then_mark_delivered(two_suppliers):
    tea_order, _bowl_order, client = two_suppliers
    url = f"/supplier/fulfilment/{tea_order.pk}/"

    page = client.get(url)
    assert page.status_code == 200
    assert "李小红" in page.text and "文三路" in page.text
    bad = client.post(url + "ship/", {"carrier": "顺丰速运", "tracking_number": "12"})
    assert bad.status_code == 400
    assert "6 to 40 letters, digits or hyphens" in bad.text
    missing = client.post(url + "ship/", {"carrier": "", "tracking_number": ""})
    assert missing.status_code == 400
    tea_order.refresh_from_db()
    assert tea_order.status == SupplierOrder.Status.TO_SHIP

    shipped = client.post(url + "ship/", {"carrier": "顺丰速运", "tracking_number": "SF1029384756"})
    assert shipped.status_code == 302
    tea_order.refresh_from_db()
    assert (tea_order.status, tea_order.tracking_number) == ("shipped", "SF1029384756")
    assert "SF1029384756" in client.get(url).text

    assert client.post(url + "deliver/").status_code == 302
    tea_order.refresh_from_db()
    assert tea_order.status == SupplierOrder.Status.DELIVERED
    assert "Returns possible until" in client.get(url).text


def test_returns_to_confirm_are_listed_and_confirming_refunds_the_buyer(two_suppliers, shops):
    tea_order, _bowl_order, client = two_suppliers
    supplier = tea_order.supplier
    services.supplier_order_ship(
        supplier_order=tea_order, supplier=supplier, carrier="EMS", tracking_number="EMS1234567"
    )
    services.supplier_order_deliver(supplier_order=tea_order, supplier=supplier)
    line = tea_order.lines.get()
    case = services.return_open(
        tenant=shops.a,
        order_number=tea_order.order_number,
        items=[(line.line_ref, 1)],
        reason="不喜欢",
    )

    page = client.get("/supplier/fulfilment/returns/")
    assert page.status_code == 200
    assert tea_order.order_number in page.text and "不喜欢" in page.text

    response = client.post(f"/supplier/fulfilment/returns/{case.pk}/receive/", follow=True)
    assert "90.00 yuan refunded to the buyer" in response.text
    case.refresh_from_db()
    assert case.status == ReturnCase.Status.REFUNDED
    assert "No returns in this state." in client.get("/supplier/fulfilment/returns/").text


def test_supplier_a_cannot_see_or_change_supplier_bs_orders_or_returns(two_suppliers, shops):
    tea_order, bowl_order, client = two_suppliers
    bowl_supplier = bowl_order.supplier
    services.supplier_order_ship(
        supplier_order=bowl_order,
        supplier=bowl_supplier,
        carrier="EMS",
        tracking_number="EMS7654321",
    )
    services.supplier_order_deliver(supplier_order=bowl_order, supplier=bowl_supplier)
    line = bowl_order.lines.get()
    case = services.return_open(
        tenant=shops.b, order_number=bowl_order.order_number, items=[(line.line_ref, 1)]
    )
    other_to_ship = order_paid(tenant=shops.b, items=[Item(line.sku, 1, 8000)])[1][0]

    responses = [
        client.get(f"/supplier/fulfilment/{bowl_order.pk}/"),
        client.post(
            f"/supplier/fulfilment/{other_to_ship.pk}/ship/",
            {"carrier": "EMS", "tracking_number": "EMS0000001"},
        ),
        client.post(f"/supplier/fulfilment/{bowl_order.pk}/deliver/"),
        client.post(f"/supplier/fulfilment/returns/{case.pk}/receive/"),
        client.post(f"/supplier/fulfilment/returns/{case.pk}/reject/", {"note": "不"}),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    other_to_ship.refresh_from_db()
    case.refresh_from_db()
    assert other_to_ship.status == SupplierOrder.Status.TO_SHIP
    assert case.status == ReturnCase.Status.REQUESTED
    assert not Refund.objects.filter(payment_id=bowl_order.payment_id).exists()
    for tab in ("/supplier/fulfilment/?status=delivered", "/supplier/fulfilment/returns/"):
        assert bowl_order.order_number not in client.get(tab).text
    # …while the tea supplier's own order opens.
    assert client.get(f"/supplier/fulfilment/{tea_order.pk}/").status_code == 200


def test_the_portal_is_for_logged_in_suppliers(two_suppliers, shop_client):
    tea_order, _bowl_order, _client = two_suppliers

    response = shop_client("localhost").get(f"/supplier/fulfilment/{tea_order.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
