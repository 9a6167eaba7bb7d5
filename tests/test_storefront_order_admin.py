"""The creator's orders in her shop's admin: list, filters, search, detail, and isolation."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from storefront.models import Order
from storefront.orders.services import Want, order_place

from .storefront_helpers import BUYER, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def place(shop, item, **buyer) -> Order:
    with tenant_context(shop):
        return order_place(
            wants=[Want(item.pk, 1)], buyer=BUYER.__class__(**{**BUYER.__dict__, **buyer})
        )


def test_the_creator_lists_searches_and_filters_her_orders(shops, creator):
    _listing, item = listed(shops.a, stock=20)
    first = place(shops.a, item, recipient="李雷", mobile="13911112222")
    second = place(shops.a, item, recipient="韩梅梅", mobile="13933334444")
    with tenant_context(shops.a):
        Order.objects.filter(pk=second.pk).update(status=Order.Status.EXPIRED)
    admin = creator("a")

    everything = admin.get("/admin/orders/")
    assert everything.status_code == 200
    assert first.number in everything.text and second.number in everything.text
    searched = admin.get("/admin/orders/", {"q": "3333"})
    assert second.number in searched.text and first.number not in searched.text
    expired = admin.get("/admin/orders/", {"status": "expired"})
    assert second.number in expired.text and first.number not in expired.text
    none = admin.get("/admin/orders/", {"q": "no-such-order"})
    assert "No orders match" in none.text

    detail = admin.get(f"/admin/orders/{first.number}/")
    assert detail.status_code == 200
    assert "李雷" in detail.text and "文三路" in detail.text
    assert "has not started paying" in detail.text


def test_another_shops_orders_never_show_in_my_admin(shops, creator):
    _listing, item = listed(shops.a, stock=5)
    order_of_a = place(shops.a, item)
    admin_of_b = creator("b")

    assert order_of_a.number not in admin_of_b.get("/admin/orders/").text
    assert admin_of_b.get(f"/admin/orders/{order_of_a.number}/").status_code == 404


def test_orders_need_a_shop_admin_login(shops, shop_client):
    response = shop_client("a.localhost").get("/admin/orders/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_creators_order_page_shows_each_return_with_its_lines_and_parcel(shops, creator):
    from datetime import timedelta

    from django.utils import timezone

    from billing.fulfilment.models import ReturnCase, SupplierOrder
    from billing.fulfilment.services import (
        return_open,
        supplier_order_deliver,
        supplier_order_ship,
    )
    from billing.fulfilment.testing import Item, order_paid

    _listing, item = listed(shops.a, stock=20)
    order = place(shops.a, item)
    _payment, [so], [ref] = order_paid(
        tenant=shops.a,
        items=[Item(sku=item.sku, quantity=2, retail_price_fen=item.retail_price_fen)],
        order_number=order.number,
    )
    so = supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF100200300"
    )
    # Shipped two days ago, delivered yesterday: inside the 7-day window.
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=timezone.now() - timedelta(days=2))
    so.refresh_from_db()
    supplier_order_deliver(supplier_order=so, delivered_at=timezone.now() - timedelta(days=1))
    case = return_open(
        tenant=shops.a, order_number=order.number, items=[(ref, 1)], reason="尺码不合适"
    )
    if hasattr(ReturnCase, "return_tracking_number"):  # the buyer's "sent it back" step
        ReturnCase.objects.filter(pk=case.pk).update(
            return_carrier="中通快递", return_tracking_number="ZT998877"
        )
    admin = creator("a")

    page = admin.get(f"/admin/orders/{order.number}/")

    assert page.status_code == 200
    assert "Returns" in page.text
    assert "return requested" in page.text  # the case's state
    section = page.text[page.text.index('class="order-return"') :]
    assert "尺码不合适" in section
    assert "¥88.00" in section and "¥176.00" not in section  # one unit of two comes back
    assert item.sku.product.title in section
    if hasattr(ReturnCase, "return_tracking_number"):
        assert "ZT998877" in section and "中通快递" in section


def test_an_order_without_returns_says_so(shops, creator):
    _listing, item = listed(shops.a, stock=5)
    order = place(shops.a, item)

    page = creator("a").get(f"/admin/orders/{order.number}/")

    assert "No returns." in page.text
