"""The creator API on a shop's host: listings, orders, coupons, fans, figures; idempotent writes;
pages; the published schema and its docs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.testing import first_sku, product_make, terms
from core import api_idempotency
from storefront.coupons.models import Coupon
from storefront.models import Listing, ListingItem
from tests.api_helpers import call, shop_order_make, shop_token
from tests.storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]


@pytest.fixture
def api(shops, shop_client):
    """(client of shop A, a token of shop A with every scope but contacts)."""
    from storefront.shopapi.services import SHOP_SCOPES

    scopes = [s for s in SHOP_SCOPES if s != "contacts:read"]
    return shop_client("a.localhost"), shop_token(shops.a, scopes)


def test_a_listing_is_created_and_repriced_within_the_suppliers_bounds(shops, api):
    client, token = api
    product = product_make(skus=1, price_terms=terms(low=6000, high=12000))
    sku = first_sku(product)
    body = {
        "product_id": product.pk,
        "title": "好物",
        "prices": [{"sku_id": sku.pk, "retail_price_fen": 8800}],
    }
    made = call(client, "POST", "/api/v1/listings", token, body)
    assert made.status_code == 201, made.content
    listing = made.json()
    assert listing["items"][0]["retail_price_fen"] == 8800
    assert (listing["items"][0]["min_retail_fen"], listing["items"][0]["max_retail_fen"]) == (
        6000,
        12000,
    )

    too_low = call(
        client, "PATCH", f"/api/v1/listings/{listing['id']}", token,
        {"prices": [{"sku_id": sku.pk, "retail_price_fen": 100}]},
    )  # fmt: skip
    assert too_low.status_code == 422
    assert too_low.json()["code"] == "invalid"
    ok = call(
        client, "PATCH", f"/api/v1/listings/{listing['id']}", token,
        {"prices": [{"sku_id": sku.pk, "retail_price_fen": 9900}], "is_active": False},
    )  # fmt: skip
    assert ok.status_code == 200, ok.content
    with tenant_context(shops.a):
        item = ListingItem.objects.get(listing_id=listing["id"])
        assert item.retail_price_fen == 9900
        assert Listing.objects.get(pk=listing["id"]).is_active is False
    # The same product twice is the listing service's "already in your shop".
    again = call(client, "POST", "/api/v1/listings", token, body)
    assert again.status_code == 422


def test_orders_filter_by_state_and_date_and_page_with_a_cursor(shops, api):
    client, token = api
    made = [shop_order_make(shops.a) for _ in range(5)]
    old = shop_order_make(shops.a, days_ago=40)
    unpaid = shop_order_make(shops.a, status="pending_payment")
    seen: list[str] = []
    cursor = None
    while True:
        path = "/api/v1/orders?status=paid&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "GET", path, token).json()
        assert len(page["items"]) <= 2
        seen += [o["number"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert {o.number for o in made} <= set(seen)
    assert unpaid.number not in seen
    assert len(seen) == len(set(seen))
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    recent = call(client, "GET", f"/api/v1/orders?since={since}&limit=100", token).json()
    numbers = {o["number"] for o in recent["items"]}
    assert old.number not in numbers and made[0].number in numbers
    assert call(client, "GET", "/api/v1/orders?cursor=bm9wZQ", token).status_code == 422
    assert call(client, "GET", "/api/v1/orders?limit=1000", token).status_code == 422
    assert call(client, "GET", "/api/v1/orders?status=bogus", token).status_code == 422


def test_the_date_filter_draws_days_in_shanghai_time(shops, api):
    # 23:30 in Shanghai on 1 March is 15:30 UTC: the order belongs to 1 March, not the UTC day
    # either side of it, and "until" is the first day left out.
    client, token = api
    late = shop_order_make(shops.a)
    with tenant_context(shops.a):
        from storefront.models import Order

        moment = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
        Order.objects.filter(pk=late.pk).update(created_at=moment)

    def numbers(query: str) -> set[str]:
        page = call(client, "GET", f"/api/v1/orders?{query}&limit=100", token)
        assert page.status_code == 200, page.content
        return {o["number"] for o in page.json()["items"]}

    assert late.number in numbers("since=2026-03-01&until=2026-03-02")
    assert late.number not in numbers("since=2026-03-02")
    assert late.number not in numbers("until=2026-03-01")


def test_a_page_of_orders_costs_the_same_queries_however_many_orders_it_holds(shops, api):
    client, token = api
    _listing, item = listed(shops.a)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as seen:
            page = call(client, "GET", f"/api/v1/orders?limit={limit}", token)
        assert page.status_code == 200 and len(page.json()["items"]) == limit
        assert all(len(o["lines"]) == 1 for o in page.json()["items"])
        return len(seen)

    for _ in range(8):
        shop_order_make(shops.a, listing_item=item)
    queries(1)  # the token's first use of the minute is written once: not part of a page
    assert queries(8) == queries(2)  # the lines come in one query, not one per order


def test_order_detail_has_lines_payment_shipments_and_contact_only_with_the_scope(shops, api):
    client, token = api
    _listing, item = listed(shops.a)
    order = shop_order_make(shops.a, listing_item=item, mobile="13900001111")
    detail = call(client, "GET", f"/api/v1/orders/{order.number}", token).json()
    assert detail["lines"][0]["quantity"] == 1
    assert detail["payment"] is None and detail["shipments"] == [] and detail["returns"] == []
    assert detail["contact"] is None
    full = shop_token(shops.a, ["orders:read", "contacts:read"])
    detail = call(client, "GET", f"/api/v1/orders/{order.number}", full).json()
    assert detail["contact"]["mobile"] == "13900001111"
    assert call(client, "GET", "/api/v1/orders/NOSUCHORDER", token).status_code == 404


def test_shop_a_never_sees_shop_bs_orders(shops, shop_client):
    theirs = shop_order_make(shops.b)
    token_a = shop_token(shops.a, ["orders:read"])
    client = shop_client("a.localhost")
    assert call(client, "GET", f"/api/v1/orders/{theirs.number}", token_a).status_code == 404
    numbers = {
        o["number"]
        for o in call(client, "GET", "/api/v1/orders?limit=100", token_a).json()["items"]
    }
    assert theirs.number not in numbers


def test_coupons_are_read_created_and_paused_through_the_coupon_rules(shops, api):
    client, token = api
    now = timezone.now()
    body = {
        "name": "新人立减",
        "code": "APINEW10",
        "kind": "fixed",
        "amount_fen": 1000,
        "min_goods_fen": 5000,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        "total_limit": 100,
    }
    made = call(client, "POST", "/api/v1/coupons", token, body)
    assert made.status_code == 201, made.content
    coupon = made.json()
    assert coupon["status"] == "active" and coupon["scope"] == "shop"
    taken = call(client, "POST", "/api/v1/coupons", token, body)
    assert taken.status_code == 422 and "code" in taken.json()["errors"]
    paused = call(client, "POST", f"/api/v1/coupons/{coupon['id']}/pause", token)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    with tenant_context(shops.a):
        assert Coupon.objects.get(pk=coupon["id"]).status == Coupon.Status.PAUSED
    listed_ = call(client, "GET", "/api/v1/coupons", token).json()
    assert any(c["code"] == "APINEW10" for c in listed_)


def test_fans_carry_contact_details_only_with_the_owners_scope(shops, api):
    client, token = api
    shop_order_make(shops.a, mobile="13911112222")
    fans = call(client, "GET", "/api/v1/fans?limit=100", token).json()["items"]
    assert fans and all(f["mobile"] is None for f in fans)
    full = shop_token(shops.a, ["fans:read", "contacts:read"])
    fans = call(client, "GET", "/api/v1/fans?limit=100", full).json()["items"]
    assert "13911112222" in {f["mobile"] for f in fans}


def test_daily_figures_count_paid_orders_per_day(shops, api):
    client, token = api
    shop_order_make(shops.a)
    today = timezone.localdate().isoformat()
    days = call(client, "GET", f"/api/v1/analytics/daily?since={today}&until={today}", token)
    assert days.status_code == 200
    assert days.json()[0]["orders"] >= 1
    bad = call(client, "GET", "/api/v1/analytics/daily?since=2020-01-01&until=2024-01-01", token)
    assert bad.status_code == 422


def test_a_write_with_the_same_idempotency_key_is_done_once(shops, api):
    client, token = api
    now = timezone.now()
    body = {
        "name": "一次",
        "code": "ONCEONLY",
        "kind": "fixed",
        "amount_fen": 500,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
    }
    first = call(client, "POST", "/api/v1/coupons", token, body, key="k-123")
    again = call(client, "POST", "/api/v1/coupons", token, body, key="k-123")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    with tenant_context(shops.a):
        assert Coupon.objects.filter(code="ONCEONLY").count() == 1
    changed = call(
        client, "POST", "/api/v1/coupons", token, {**body, "amount_fen": 600}, key="k-123"
    )
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    bad_key = call(client, "POST", "/api/v1/coupons", token, body, key="é" * 3)
    assert bad_key.status_code in (400, 422)
    # A key with a newline after it is no key of ours (a "$" in the rule let it through).
    with pytest.raises(ValueError):
        api_idempotency.key_check("k-123\n")


def test_a_failed_write_does_not_use_up_its_key(shops, api):
    client, token = api
    product = product_make(skus=1)
    body = {
        "product_id": product.pk,
        "prices": [{"sku_id": first_sku(product).pk, "retail_price_fen": 1}],
    }
    assert call(client, "POST", "/api/v1/listings", token, body, key="retry-me").status_code == 422
    body["prices"][0]["retail_price_fen"] = 8800
    assert call(client, "POST", "/api/v1/listings", token, body, key="retry-me").status_code == 201


def test_the_schema_lists_every_error_an_endpoint_answers_and_the_docs_are_served(shop_client):
    client = shop_client("a.localhost")
    schema = client.get("/api/v1/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            assert {"401", "403", "404", "422", "429"} <= codes, (method, path)
            if method != "get":
                assert "400" in codes, (method, path)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.content
    supplier_schema = shop_client("localhost").get("/api/v1/supplier/openapi.json")
    assert supplier_schema.status_code == 200
