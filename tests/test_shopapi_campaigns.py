"""The creator API's campaigns on a shop's host: flash sales, group buys and price drops read
together, created through their services (the supplier's bounds, the stock), stopped as the
admin stops them; idempotent writes, scopes, and one shop never reaching another's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU
from storefront.flash.models import FlashSale
from storefront.groupbuy.models import GroupBuy
from storefront.models import ListingItem
from storefront.pricedrop.models import PriceDrop
from storefront.shopapi.campaigns_api import GROUP_NO_STOP, GROUP_RUNS

from .api_helpers import call, shop_token
from .flash_helpers import sale_make
from .groupbuy_helpers import join, tiered
from .pricedrop_helpers import drop_make, pricedrop_redis_clean  # noqa: F401 (fixture)
from .storefront_helpers import listed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_media", "catalog_english", "pricedrop_redis_clean"),
]

WRITE = ["campaigns:read", "campaigns:write"]


@pytest.fixture
def api(shops, shop_client):
    """(client of shop A, a token of shop A that reads campaigns and writes them)."""
    return shop_client("a.localhost"), shop_token(shops.a, WRITE)


def _stock(item: ListingItem) -> int:
    return SKU.objects.get(pk=item.sku_id).stock


def _at(minutes: int) -> str:
    moment = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    return moment.isoformat()


def flash_body(item: ListingItem, **over) -> dict:
    body = {
        "listing_item_id": item.pk,
        "title": "10 点秒杀",
        "price_fen": 6600,
        "quantity": 3,
        "per_buyer_limit": 1,
        "announce_at": _at(10),
        "starts_at": _at(60),
        "ends_at": _at(180),
    }
    return {**body, **over}


def group_body(item: ListingItem, **over) -> dict:
    body = {
        "listing_item_id": item.pk,
        "title": "一起买更便宜",
        "tiers": [{"buyers": 1, "price_fen": 10000}, {"buyers": 3, "price_fen": 8000}],
        "min_buyers": 2,
        "ends_at": _at(300),
        "quantity": 5,
    }
    return {**body, **over}


def drop_body(item: ListingItem, **over) -> dict:
    body = {
        "listing_item_id": item.pk,
        "title": "转发降价 辅食碗",
        "start_price_fen": 8800,
        "step_fen": 500,
        "floor_fen": 6000,
        "quantity": 4,
        "starts_at": _at(-1),
        "ends_at": _at(24 * 60),
    }
    return {**body, **over}


def poster(client, token: str, path: str):
    """POST to PATH with TOKEN: post(body, key=...)."""

    def post(body, key: str | None = None):
        return call(client, "POST", path, token, body, key=key)

    return post


def _errors(answer) -> dict:
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "invalid"
    return body["errors"]


# --- reads ------------------------------------------------------------------------------------


def test_every_kind_is_listed_newest_first_with_its_terms_and_read_one_by_one(shops, api):
    client, token = api
    sale = sale_make(shops.a, started=False, quantity=5)
    group, _item = tiered(shops.a, min_buyers=2)
    drop = drop_make(shops.a)

    page = call(client, "GET", "/api/v1/campaigns?limit=100", token)
    assert page.status_code == 200, page.content
    items = page.json()["items"]
    ours = [(c["kind"], c["id"]) for c in items]
    assert ours.index(("drop", drop.pk)) < ours.index(("group", group.pk))
    assert ours.index(("group", group.pk)) < ours.index(("flash", sale.pk))
    times = [c["created_at"] for c in items]
    assert times == sorted(times, reverse=True)

    flash = call(client, "GET", f"/api/v1/campaigns/flash/{sale.pk}", token).json()
    assert flash["status"] == "scheduled" and flash["quantity"] == 5
    assert flash["units_left"] == 5 and flash["units_taken"] == 0
    assert flash["flash"]["price_fen"] == 6600 and flash["group"] is None
    assert flash["listing_title"] == "宝妈推荐好物"

    got = call(client, "GET", f"/api/v1/campaigns/group/{group.pk}", token).json()
    assert got["group"]["group_kind"] == "tiered" and got["group"]["min_buyers"] == 2
    assert [t["buyers"] for t in got["group"]["tiers"]] == [1, 3, 5]
    assert got["group"]["price_fen"] == 10000 and got["units_left"] == 20

    dropped = call(client, "GET", f"/api/v1/campaigns/drop/{drop.pk}", token).json()
    assert dropped["status"] == "running"
    assert (dropped["drop"]["start_price_fen"], dropped["drop"]["step_fen"]) == (8800, 500)
    assert dropped["drop"]["floor_fen"] == 6000 and dropped["drop"]["price_fen"] == 8800
    assert dropped["units_left"] == 5 and dropped["drop"]["counted_shares"] == 0

    only_groups = call(client, "GET", "/api/v1/campaigns?kind=group&limit=100", token).json()
    assert {c["kind"] for c in only_groups["items"]} == {"group"}
    running = call(client, "GET", "/api/v1/campaigns?status=running&limit=100", token).json()
    assert ("drop", drop.pk) in {(c["kind"], c["id"]) for c in running["items"]}
    assert all(c["status"] == "running" for c in running["items"])

    assert call(client, "GET", "/api/v1/campaigns/coupon/1", token).status_code == 404
    assert call(client, "GET", f"/api/v1/campaigns/flash/{2**62 + 1}", token).status_code == 404
    assert call(client, "GET", "/api/v1/campaigns?kind=coupon", token).status_code == 422
    assert call(client, "GET", "/api/v1/campaigns?status=bogus", token).status_code == 422


def test_pages_follow_the_cursor_across_kinds_even_when_they_were_made_at_one_moment(shops, api):
    client, token = api
    made = {("flash", sale_make(shops.a, started=False).pk)}
    made.add(("drop", drop_make(shops.a).pk))
    made.add(("drop", drop_make(shops.a).pk))
    made.add(("group", tiered(shops.a)[0].pk))
    same = timezone.now()
    with tenant_context(shops.a):
        for model in (FlashSale, PriceDrop, GroupBuy):
            model.objects.update(created_at=same)
    connection.set_schema_to_public()

    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(20):
        path = "/api/v1/campaigns?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "GET", path, token)
        assert page.status_code == 200, page.content
        seen += [(c["kind"], c["id"]) for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    assert call(client, "GET", "/api/v1/campaigns?cursor=bm9wZQ", token).status_code == 422
    assert call(client, "GET", "/api/v1/campaigns?limit=1000", token).status_code == 422


# --- creating ---------------------------------------------------------------------------------


def test_a_flash_sale_is_scheduled_once_per_idempotency_key_and_takes_its_units(shops, api):
    client, token = api
    _listing, item = listed(shops.a, price=8800, stock=10)
    body = flash_body(item)
    first = call(client, "POST", "/api/v1/campaigns/flash-sales", token, body, key="fs-1")
    assert first.status_code == 201, first.content
    sale = first.json()
    assert sale["kind"] == "flash" and sale["status"] == "scheduled"
    assert sale["listing_item_id"] == item.pk and sale["flash"]["price_fen"] == 6600
    again = call(client, "POST", "/api/v1/campaigns/flash-sales", token, body, key="fs-1")
    assert again.status_code == 201 and again.json() == sale
    with tenant_context(shops.a):
        assert FlashSale.objects.filter(item=item).count() == 1
        assert _stock(item) == 7


def test_a_flash_sale_outside_the_rules_is_422_by_field_and_takes_nothing(shops, api):
    client, token = api
    _listing, item = listed(shops.a, price=8800, stock=10)
    post = poster(client, token, "/api/v1/campaigns/flash-sales")
    assert "price_fen" in _errors(post(flash_body(item, price_fen=5000)))
    assert "price_fen" in _errors(post(flash_body(item, price_fen=9900)))  # above the shop's
    assert "quantity" in _errors(post(flash_body(item, quantity=11)))
    assert "title" in _errors(post(flash_body(item, title="秒杀\x00")))
    assert "price_fen" in _errors(post(flash_body(item, price_fen=10**30)))
    assert "quantity" in _errors(post(flash_body(item, quantity=2**70)))
    assert "title" in _errors(post(flash_body(item, title="秒" * 61)))
    assert "ends_at" in _errors(post(flash_body(item, ends_at="9999-12-31T23:00:00-05:00")))
    assert "ends_at" in _errors(post(flash_body(item, ends_at=_at(30))))  # before the start
    assert "listing_item_id" in _errors(post(flash_body(item, listing_item_id=10**15)))
    assert "listing_item_id" in _errors(post(flash_body(item, listing_item_id=2**64)))
    broken = call(
        client, "POST", "/api/v1/campaigns/flash-sales", token, raw=b'{"price_fen": 1\x00}'
    )
    assert broken.status_code in (400, 422)
    with tenant_context(shops.a):
        assert not FlashSale.objects.filter(item=item).exists()
        assert _stock(item) == 10


def test_a_group_buy_starts_once_per_key_and_refuses_bad_terms_by_field(shops, api):
    client, token = api
    _listing, item = listed(shops.a, price=10000, stock=10)
    post = poster(client, token, "/api/v1/campaigns/group-buys")
    low = group_body(item, tiers=[{"buyers": 1, "price_fen": 5000}])
    assert "tiers" in _errors(post(low))
    assert "quantity" in _errors(post(group_body(item, quantity=11)))
    assert "title" in _errors(post(group_body(item, title="团\x00购")))
    assert "min_buyers" in _errors(post(group_body(item, min_buyers=10**40)))
    assert "group_size" in _errors(post(group_body(item, group_kind="fixed")))
    assert "ends_at" in _errors(post(group_body(item, ends_at=_at(-5))))
    with tenant_context(shops.a):
        assert _stock(item) == 10

    first = post(group_body(item), key="gb-1")
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["kind"] == "group" and made["status"] == "open"
    assert made["group"]["tiers"] == [
        {"buyers": 1, "price_fen": 10000},
        {"buyers": 3, "price_fen": 8000},
    ]
    assert made["quantity"] == made["units_left"] == 5
    assert post(group_body(item), key="gb-1").json() == made
    # Another key: the service's "one group buy per item", under listing_item_id.
    assert "listing_item_id" in _errors(post(group_body(item), key="gb-2"))
    with tenant_context(shops.a):
        assert GroupBuy.objects.filter(item=item).count() == 1
        assert _stock(item) == 5


def test_a_price_drop_starts_once_per_key_and_refuses_bad_terms_by_field(shops, api):
    client, token = api
    _listing, item = listed(shops.a, price=8800, stock=10)
    post = poster(client, token, "/api/v1/campaigns/price-drops")
    assert "start_price_fen" in _errors(post(drop_body(item, start_price_fen=20000)))
    assert "floor_fen" in _errors(post(drop_body(item, floor_fen=100)))
    assert "quantity" in _errors(post(drop_body(item, quantity=11)))  # starts now: stock counts
    assert "title" in _errors(post(drop_body(item, title="降价\x00")))
    assert "step_fen" in _errors(post(drop_body(item, step_fen=2**63)))
    with tenant_context(shops.a):
        assert not PriceDrop.objects.filter(item=item).exists()
        assert _stock(item) == 10

    first = post(drop_body(item), key="pd-1")
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["kind"] == "drop" and made["status"] == "running"
    assert made["drop"]["price_fen"] == 8800 and made["units_left"] == 4
    assert post(drop_body(item), key="pd-1").json() == made
    with tenant_context(shops.a):
        assert PriceDrop.objects.filter(item=item).count() == 1
        assert _stock(item) == 6


def test_another_shops_item_is_not_an_item_here(shops, api):
    client, token = api
    _listing, mine = listed(shops.a, price=8800, stock=10)
    with tenant_context(shops.a):
        here = set(ListingItem.objects.values_list("pk", flat=True))
    for _ in range(len(here) + 1):  # an item of shop B whose id shop A has not used
        _listing_b, theirs = listed(shops.b, price=8800, stock=10)
        if theirs.pk not in here:
            break
    assert theirs.pk not in here
    body = flash_body(mine, listing_item_id=theirs.pk)
    answer = call(client, "POST", "/api/v1/campaigns/flash-sales", token, body)
    assert "listing_item_id" in _errors(answer)
    with tenant_context(shops.b):
        assert _stock(theirs) == 10 and not FlashSale.objects.exists()


# --- stopping ---------------------------------------------------------------------------------


def test_a_flash_sale_is_cancelled_before_its_start_and_refused_once_it_runs(shops, api):
    client, token = api
    sale = sale_make(shops.a, started=False, quantity=5, stock=100)
    running = sale_make(shops.a, started=True)
    with tenant_context(shops.a):
        item = ListingItem.objects.get(pk=sale.item_id)
        assert _stock(item) == 95
    stopped = call(client, "POST", f"/api/v1/campaigns/flash/{sale.pk}/pause", token, key="p-1")
    assert stopped.status_code == 200, stopped.content
    assert stopped.json()["status"] == "cancelled"
    # The same key: the first answer; a second stop without one: the sale as it is.
    again = call(client, "POST", f"/api/v1/campaigns/flash/{sale.pk}/pause", token, key="p-1")
    assert again.status_code == 200 and again.json() == stopped.json()
    assert (
        call(client, "POST", f"/api/v1/campaigns/flash/{sale.pk}/pause", token).json()["status"]
        == "cancelled"
    )
    with tenant_context(shops.a):
        assert _stock(item) == 100

    refused = call(client, "POST", f"/api/v1/campaigns/flash/{running.pk}/pause", token)
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "conflict" and refused.json()["message"]
    with tenant_context(shops.a):
        assert FlashSale.objects.get(pk=running.pk).state == FlashSale.State.LIVE


def test_a_price_drop_is_ended_by_the_shop_and_its_units_go_back(shops, api):
    client, token = api
    drop = drop_make(shops.a, stock=20)
    with tenant_context(shops.a):
        item = ListingItem.objects.get(pk=drop.item_id)
        assert _stock(item) == 15
    stopped = call(client, "POST", f"/api/v1/campaigns/drop/{drop.pk}/pause", token)
    assert stopped.status_code == 200, stopped.content
    body = stopped.json()
    assert body["status"] == "ended" and body["drop"]["end_reason"] == "stopped"
    assert body["units_left"] == 0
    again = call(client, "POST", f"/api/v1/campaigns/drop/{drop.pk}/pause", token)
    assert again.status_code == 200 and again.json()["status"] == "ended"
    with tenant_context(shops.a):
        assert _stock(item) == 20
        assert PriceDrop.objects.get(pk=drop.pk).units_returned == 5


def test_a_group_buy_runs_to_its_deadline(shops, api):
    client, token = api
    empty, _item = tiered(shops.a)
    joined, _item = tiered(shops.a)
    join(shops.a, joined)
    nobody = call(client, "POST", f"/api/v1/campaigns/group/{empty.pk}/pause", token)
    assert nobody.status_code == 409 and nobody.json()["message"] == GROUP_NO_STOP
    refused = call(client, "POST", f"/api/v1/campaigns/group/{joined.pk}/pause", token)
    assert refused.status_code == 409 and refused.json()["message"] == GROUP_RUNS
    with tenant_context(shops.a):
        assert GroupBuy.objects.get(pk=joined.pk).status == GroupBuy.Status.OPEN
        assert GroupBuy.objects.get(pk=empty.pk).status == GroupBuy.Status.OPEN


# --- scopes and shops -------------------------------------------------------------------------


def test_a_read_only_token_reads_campaigns_and_may_not_write_them(shops, shop_client):
    client = shop_client("a.localhost")
    reader = shop_token(shops.a, ["campaigns:read"])
    drop = drop_make(shops.a)
    _listing, item = listed(shops.a, price=10000, stock=10)
    assert call(client, "GET", "/api/v1/campaigns", reader).status_code == 200
    writes = [
        ("/api/v1/campaigns/flash-sales", flash_body(item)),
        ("/api/v1/campaigns/group-buys", group_body(item)),
        ("/api/v1/campaigns/price-drops", drop_body(item)),
        (f"/api/v1/campaigns/drop/{drop.pk}/pause", None),
    ]
    for path, body in writes:
        answer = call(client, "POST", path, reader, body)
        assert answer.status_code == 403, path
        assert "campaigns:write" in answer.json()["message"]
        # Coupons' write scope is not a campaign's.
        coupon_writer = shop_token(shops.a, ["campaigns:read", "coupons:write"])
        assert call(client, "POST", path, coupon_writer, body).status_code == 403, path
    coupons_only = shop_token(shops.a, ["coupons:read"])
    assert call(client, "GET", "/api/v1/campaigns", coupons_only).status_code == 403
    with tenant_context(shops.a):
        assert PriceDrop.objects.get(pk=drop.pk).status == PriceDrop.Status.RUNNING
        assert _stock(item) == 10


def test_shop_b_neither_sees_nor_stops_shop_as_campaigns(shops, shop_client):
    drop = drop_make(shops.a)
    sale = sale_make(shops.a, started=False)
    with tenant_context(shops.b):  # no rows of B that happen to have these ids
        assert not PriceDrop.objects.filter(pk=drop.pk).exists()
        assert not FlashSale.objects.filter(pk=sale.pk).exists()
    client_b = shop_client("b.localhost")
    token_b = shop_token(shops.b, WRITE)
    assert call(client_b, "GET", f"/api/v1/campaigns/drop/{drop.pk}", token_b).status_code == 404
    assert (
        call(client_b, "POST", f"/api/v1/campaigns/drop/{drop.pk}/pause", token_b).status_code
        == 404
    )
    assert (
        call(client_b, "POST", f"/api/v1/campaigns/flash/{sale.pk}/pause", token_b).status_code
        == 404
    )
    listed_b = call(client_b, "GET", "/api/v1/campaigns?limit=100", token_b).json()["items"]
    assert ("drop", drop.pk) not in {(c["kind"], c["id"]) for c in listed_b}
    # A's token on B's host is unknown there, and on the platform host there is no shop API.
    token_a = shop_token(shops.a, WRITE)
    assert call(client_b, "GET", "/api/v1/campaigns", token_a).status_code == 401
    platform = Client(HTTP_HOST="localhost")
    assert call(platform, "GET", "/api/v1/campaigns", token_a).status_code in (401, 404)
    assert call(
        platform, "POST", f"/api/v1/campaigns/drop/{drop.pk}/pause", token_a
    ).status_code in (401, 404)
    with tenant_context(shops.a):
        assert PriceDrop.objects.get(pk=drop.pk).status == PriceDrop.Status.RUNNING
        assert FlashSale.objects.get(pk=sale.pk).state == FlashSale.State.SCHEDULED


def test_the_schema_declares_every_answer_of_the_campaign_endpoints(shop_client):
    schema = shop_client("a.localhost").get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/campaigns",
        "/api/v1/campaigns/{kind}/{campaign_id}",
        "/api/v1/campaigns/flash-sales",
        "/api/v1/campaigns/group-buys",
        "/api/v1/campaigns/price-drops",
        "/api/v1/campaigns/{kind}/{campaign_id}/pause",
    ):
        assert path in paths, sorted(paths)
        for method, op in paths[path].items():
            codes = set(op["responses"])
            assert {"401", "403", "404", "422", "429"} <= codes, (method, path)
            if method == "post":
                assert "400" in codes
    pause = paths["/api/v1/campaigns/{kind}/{campaign_id}/pause"]["post"]
    assert {"200", "409"} <= set(pause["responses"])
