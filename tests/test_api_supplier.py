"""The supplier API on the platform host: products and stock, price changes to vetting, orders
to ship (in bulk), returns to confirm, statements; another supplier's rows are 404."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import return_open, supplier_order_deliver
from billing.fulfilment.testing import Item, order_paid
from catalog.models import PriceChange
from catalog.testing import first_sku, product_make, supplier_make
from tests.api_helpers import call, supplier_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]
BASE = "/api/v1/supplier"


@pytest.fixture
def platform() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def two_suppliers():
    mine, theirs = supplier_make(), supplier_make()
    return (
        (mine, product_make(supplier=mine, skus=1), supplier_token(mine)),
        (theirs, product_make(supplier=theirs, skus=1), supplier_token(theirs)),
    )


def test_products_are_the_suppliers_own_and_anothers_are_404(platform, two_suppliers):
    (_me, mine, token), (_them, theirs, _t) = two_suppliers
    page = call(platform, "GET", f"{BASE}/products?limit=100", token).json()
    ids = {p["id"] for p in page["items"]}
    assert mine.pk in ids and theirs.pk not in ids
    assert call(platform, "GET", f"{BASE}/products/{theirs.pk}", token).status_code == 404
    sku = first_sku(theirs)
    answer = call(platform, "PUT", f"{BASE}/skus/{sku.pk}/stock", token, {"stock": 1})
    assert answer.status_code == 404


def test_stock_is_set_and_adjusted_through_the_catalog_rules(platform, two_suppliers):
    (_me, mine, token), _ = two_suppliers
    sku = first_sku(mine)
    done = call(platform, "PUT", f"{BASE}/skus/{sku.pk}/stock", token, {"stock": 40})
    assert done.status_code == 200 and done.json()["stock"] == 40
    stale = call(
        platform, "PUT", f"{BASE}/skus/{sku.pk}/stock", token, {"stock": 5, "expected": 39}
    )
    assert stale.status_code == 422
    added = call(platform, "POST", f"{BASE}/skus/{sku.pk}/stock/adjust", token, {"delta": 7})
    assert added.json()["stock"] == 47
    below = call(platform, "POST", f"{BASE}/skus/{sku.pk}/stock/adjust", token, {"delta": -100})
    assert below.status_code == 422
    zero = call(platform, "POST", f"{BASE}/skus/{sku.pk}/stock/adjust", token, {"delta": 0})
    assert zero.status_code == 422 and "delta" in zero.json()["errors"]


def test_a_price_change_goes_to_vetting(platform, two_suppliers):
    (_me, mine, token), _ = two_suppliers
    sku = first_sku(mine)
    body = {
        "supply_price_fen": 5200,
        "suggested_retail_fen": 9000,
        "min_retail_fen": 6500,
        "max_retail_fen": 13000,
    }
    made = call(platform, "POST", f"{BASE}/skus/{sku.pk}/price-changes", token, body)
    assert made.status_code == 201, made.content
    assert made.json()["status"] == PriceChange.Status.PENDING
    sku.refresh_from_db()
    assert sku.supply_price_fen != 5200  # not before staff approve it
    again = call(platform, "POST", f"{BASE}/skus/{sku.pk}/price-changes", token, body)
    assert again.status_code == 422
    bad = {**body, "min_retail_fen": 100}
    sku2 = first_sku(product_make(supplier=_me, skus=1))
    assert (
        call(platform, "POST", f"{BASE}/skus/{sku2.pk}/price-changes", token, bad).status_code
        == 422
    )


def test_orders_are_shipped_in_bulk_all_or_none_and_anothers_are_404(
    shops, platform, two_suppliers
):
    (_me, mine, token), (_them, theirs, their_token) = two_suppliers
    _p, first, _r = order_paid(tenant=shops.a, items=[Item(first_sku(mine), 1, 8800)])
    _p, second, _r = order_paid(tenant=shops.b, items=[Item(first_sku(mine), 2, 8800)])
    _p, other, _r = order_paid(tenant=shops.a, items=[Item(first_sku(theirs), 1, 8800)])
    a, b, c = first[0], second[0], other[0]

    listed = call(platform, "GET", f"{BASE}/orders?status=to_ship&limit=100", token).json()
    ids = {o["id"] for o in listed["items"]}
    assert {a.pk, b.pk} <= ids and c.pk not in ids
    assert call(platform, "GET", f"{BASE}/orders/{c.pk}", token).status_code == 404
    assert call(platform, "GET", f"{BASE}/orders/{a.pk}", their_token).status_code == 404

    forged = {
        "shipments": [{"order_id": c.pk, "carrier": "顺丰速运", "tracking_number": "SF1000000001"}]
    }
    assert call(platform, "POST", f"{BASE}/orders/ship", token, forged).status_code == 404
    bad = {
        "shipments": [
            {"order_id": a.pk, "carrier": "顺丰速运", "tracking_number": "SF1000000002"},
            {"order_id": b.pk, "carrier": "顺丰速运", "tracking_number": "no!"},
        ]
    }
    refused = call(platform, "POST", f"{BASE}/orders/ship", token, bad)
    assert refused.status_code == 422
    assert "shipments.1.tracking_number" in refused.json()["errors"]
    a.refresh_from_db()
    assert a.status == SupplierOrder.Status.TO_SHIP  # all or none
    bad["shipments"][1]["tracking_number"] = "YT2000000003"
    shipped = call(platform, "POST", f"{BASE}/orders/ship", token, bad, key="ship-1")
    assert shipped.status_code == 200, shipped.content
    assert [o["status"] for o in shipped.json()["orders"]] == ["shipped", "shipped"]
    replay = call(platform, "POST", f"{BASE}/orders/ship", token, bad, key="ship-1")
    assert replay.json() == shipped.json()


def test_returns_are_listed_and_confirmed(shops, platform, two_suppliers):
    (_me, mine, token), (_them, _theirs, their_token) = two_suppliers
    _p, orders, refs = order_paid(tenant=shops.a, items=[Item(first_sku(mine), 1, 8800)])
    so = orders[0]
    from billing.fulfilment.services import supplier_order_ship

    supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF1234567000"
    )
    supplier_order_deliver(supplier_order=so)
    case = return_open(tenant=shops.a, order_number=so.order_number, items=[(refs[0], 1)])
    listed = call(platform, "GET", f"{BASE}/returns?status=requested", token).json()
    assert case.pk in {r["id"] for r in listed["items"]}
    assert (
        call(platform, "POST", f"{BASE}/returns/{case.pk}/receive", their_token).status_code == 404
    )
    done = call(platform, "POST", f"{BASE}/returns/{case.pk}/receive", token)
    assert done.status_code == 200, done.content
    assert done.json()["status"] in ("received", "refunded")


def test_statements_are_the_suppliers_own(platform, two_suppliers):
    (_me, _mine, token), _ = two_suppliers
    answer = call(platform, "GET", f"{BASE}/statements", token)
    assert answer.status_code == 200 and answer.json() == []
