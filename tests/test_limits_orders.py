"""Stock cannot be held hostage: unpaid orders per fan and per client, units per order."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from catalog.models import SKU
from config.settings import base as production
from storefront.models import Order
from storefront.orders.services import OrdersLimited, Want, order_place, units_cap

from .storefront_helpers import BUYER, listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english", "production_limits")


def new_buyer():
    """A buyer no other test (or earlier run) has used: their committed orders must not count."""
    mobile = "137" + "".join(secrets.choice("0123456789") for _ in range(8))
    return replace(BUYER, mobile=mobile, recipient_phone=mobile)


@pytest.fixture
def production_limits(settings):
    # The suite's settings raise these (one buyer, one address, many tests): put them back.
    settings.VSTORE_ORDER_UNPAID_PER_FAN = production.VSTORE_ORDER_UNPAID_PER_FAN
    settings.VSTORE_ORDER_UNPAID_PER_CLIENT = production.VSTORE_ORDER_UNPAID_PER_CLIENT
    settings.VSTORE_ORDER_STOCK_SHARE_PERCENT = production.VSTORE_ORDER_STOCK_SHARE_PERCENT


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def test_the_defaults_are_three_per_fan_and_ten_per_client():
    assert production.VSTORE_ORDER_UNPAID_PER_FAN == 3
    assert production.VSTORE_ORDER_UNPAID_PER_CLIENT == 10


@pytest.mark.django_db
def test_a_fan_holds_at_most_three_unpaid_orders(shops):
    _listing, item = listed(shops.a, stock=50)
    buyer = new_buyer()
    with tenant_context(shops.a):
        orders = [order_place(wants=[Want(item.pk, 1)], buyer=buyer) for _ in range(3)]
        with pytest.raises(OrdersLimited, match="3 unpaid orders"):
            order_place(wants=[Want(item.pk, 1)], buyer=buyer)
        # The refused order reserved nothing; once one order is closed she may order again.
        assert stock(item.sku_id) == 47
        Order.objects.filter(pk=orders[0].pk).update(status=Order.Status.EXPIRED)
        order_place(wants=[Want(item.pk, 1)], buyer=buyer)
    # Per shop: the same buyer in shop b is someone else's fan.
    _listing, item_b = listed(shops.b, stock=50)
    with tenant_context(shops.b):
        order_place(wants=[Want(item_b.pk, 1)], buyer=buyer)


@pytest.mark.django_db
def test_one_client_holds_a_limited_number_of_unpaid_orders(shops, settings):
    settings.VSTORE_ORDER_UNPAID_PER_CLIENT = 2
    _listing, item = listed(shops.a, stock=50)
    client = "198.51.100.23"
    with tenant_context(shops.a):
        for _ in range(2):
            order_place(wants=[Want(item.pk, 1)], buyer=new_buyer(), client=client)
        with pytest.raises(OrdersLimited, match="from your network"):
            order_place(wants=[Want(item.pk, 1)], buyer=new_buyer(), client=client)
        # Another client, and the same client in another shop, are counted apart.
        order_place(wants=[Want(item.pk, 1)], buyer=new_buyer(), client="198.51.100.24")
    _listing, item_b = listed(shops.b, stock=50)
    with tenant_context(shops.b):
        order_place(wants=[Want(item_b.pk, 1)], buyer=new_buyer(), client=client)


def test_units_per_order_are_capped_for_goods_with_little_stock():
    # Five units whatever the stock; a quarter of a plentiful stock; never above 99.
    assert [units_cap(s) for s in (1, 4, 5, 20, 40, 100, 396, 10_000)] == [
        5, 5, 5, 5, 10, 25, 99, 99,
    ]  # fmt: skip


@pytest.mark.django_db
def test_an_order_cannot_take_most_of_a_scarce_good(shops):
    _listing, item = listed(shops.a, stock=40)
    with tenant_context(shops.a):
        with pytest.raises(ValidationError, match="Only 10 of") as refused:
            order_place(wants=[Want(item.pk, 11)], buyer=new_buyer())
        assert refused.value.code == "units_cap"
        assert stock(item.sku_id) == 40
        order_place(wants=[Want(item.pk, 10)], buyer=new_buyer())
    assert stock(item.sku_id) == 30


@pytest.mark.django_db
def test_the_checkout_page_says_why_a_fourth_unpaid_order_is_refused(shops, shop_client):
    _listing, item = listed(shops.a, stock=50)
    buyer = new_buyer()
    with tenant_context(shops.a):
        for _ in range(3):
            order_place(wants=[Want(item.pk, 1)], buyer=buyer)
    connection.set_schema_to_public()
    browser = shop_client("a.localhost")
    browser.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    answer = browser.post(
        "/checkout/?now=1",
        {
            "contact": buyer.mobile,
            "recipient": buyer.recipient,
            "recipient_phone": buyer.mobile,
            "province": buyer.province,
            "city": buyer.city,
            "district": buyer.district,
            "street": buyer.street,
        },
    )
    assert answer.status_code != 500
    assert "You already have 3 unpaid orders" in answer.text
    assert stock(item.sku_id) == 47


def _place_at_once(shop, item, buyers, clients) -> list[str]:
    """Each buyer checks out in her own thread and connection, all released at one moment."""
    start = threading.Barrier(len(buyers))
    results: list[str] = []

    def place(buyer, client) -> None:
        try:
            with tenant_context(shop):
                start.wait(timeout=60)
                try:
                    order_place(wants=[Want(item.pk, 1)], buyer=buyer, client=client)
                    results.append("ordered")
                except OrdersLimited as exc:
                    results.append(exc.code)
        finally:
            connection.close()

    pairs = zip(buyers, clients, strict=True)
    threads = [threading.Thread(target=place, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_twenty_checkouts_of_one_fan_at_once_make_three_orders(shops, committed_db):
    _listing, item = listed(shops.a, stock=50)
    buyer = new_buyer()

    results = _place_at_once(shops.a, item, [buyer] * 20, [""] * 20)

    assert results.count("ordered") == 3
    assert results.count("fan_unpaid_limit") == 17
    assert stock(item.sku_id) == 47
    with tenant_context(shops.a):
        assert Order.objects.filter(contact_mobile=buyer.mobile).count() == 3


def test_twenty_checkouts_from_one_client_at_once_make_ten_orders(shops, committed_db):
    _listing, item = listed(shops.a, stock=50)
    buyers = [new_buyer() for _ in range(20)]

    results = _place_at_once(shops.a, item, buyers, ["192.0.2.99"] * 20)

    assert results.count("ordered") == 10
    assert results.count("client_unpaid_limit") == 10
    assert stock(item.sku_id) == 40
