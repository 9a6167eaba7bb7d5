"""The creator's orders in her shop's admin: list, filters, search, detail, and isolation."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from storefront.models import Order
from storefront.orders import Want, order_place

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
