"""Price drop pages: the campaign page (rules, price, counted shares, floor), a sharer's link
counted through the views (a friend counts; the sharer herself, a bot and bad links do not),
buying at the current price through checkout, bad input, another shop, and the creator's admin
(who may open it, creating with clear errors, the figures and charts)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.models import Order
from storefront.pricedrop.demo import DEMO_SHARES, DEMO_TITLE, pricedrop_demo_seed
from storefront.pricedrop.models import DropSharer, PriceDrop
from storefront.pricedrop.services import pricedrop_counted, pricedrop_flush
from storefront.pricedrop.templatetags.pricedrop_tags import pricedrop_order_panel
from storefront.sharing.cookies import SHARE_COOKIE, share_code_of

from .c4_helpers import admin_member, signed_in
from .pricedrop_helpers import (  # noqa: F401 (pytest fixtures)
    drop_make,
    pricedrop_redis_clean,
    sharer_make,
    visit,
)
from .storefront_helpers import ADDRESS, listed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_media", "catalog_english", "pricedrop_redis_clean"),
]

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0"


def counted(shop, campaign) -> int:
    with tenant_context(shop):
        found = pricedrop_counted(campaign=PriceDrop.objects.get(pk=campaign.pk))
    connection.set_schema_to_public()
    return found


def test_the_campaign_page_shows_the_rules_price_counted_shares_and_floor(shops, shop_client):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        visit(sharer_make(campaign), device="friend", address="10.20.0.1")
    page = shop_client("a.localhost").get(f"/drop/{campaign.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "¥83.00" in text and "¥60.00" in text and "¥5.00" in text  # now, floor, step
    assert 'id="pricedrop-counted">1<' in text
    assert "price = start price − step × counted shares" in text
    assert "never count" in text and "Sharing is never required" in text
    live = shop_client("a.localhost").get(f"/drop/{campaign.pk}/live/").json()
    assert live == {"price_fen": 8300, "counted": 1, "left": 5, "open": True}


def test_a_friend_through_her_link_lowers_the_price_and_she_herself_does_not(shops, shop_client):
    campaign = drop_make(shops.a)
    sharer = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)
    # Signed out, 我要分享 sends her through the sign-in code first.
    assert "/me/code/" in sharer.post(f"/drop/{campaign.pk}/")["Location"]
    signed_in(sharer, "sharer-pd@example.com")
    assert sharer.post(f"/drop/{campaign.pk}/").status_code == 302
    page = sharer.get(f"/drop/{campaign.pk}/").content.decode()
    link = re.search(r'id="pricedrop-link"[^>]*value="([^"]+)"', page).group(1)
    path = link.split("a.localhost", 1)[1]

    assert sharer.get(path).status_code == 302  # her own visit
    bot = shop_client("a.localhost", HTTP_USER_AGENT="facebookexternalhit/1.1")
    assert bot.get(path).status_code == 302
    assert counted(shops.a, campaign) == 0

    friend = shop_client("a.localhost", HTTP_USER_AGENT=PHONE, REMOTE_ADDR="10.21.0.2")
    answer = friend.get(path)
    assert answer.status_code == 302 and answer["Location"] == f"/drop/{campaign.pk}/"
    assert counted(shops.a, campaign) == 1
    # Her order is the sharer's: the link is in a signed cookie (no session row per visitor).
    checkout = RequestFactory().get("/checkout/")
    checkout.COOKIES[SHARE_COOKIE] = friend.cookies[SHARE_COOKIE].value
    checkout.session = {}
    with tenant_context(shops.a):
        assert share_code_of(checkout) == path.split("/")[-2]
    assert "sessionid" not in friend.cookies
    for _ in range(5):
        friend.get(path)
    assert counted(shops.a, campaign) == 1


def test_buying_goes_through_checkout_at_the_current_price(shops, shop_client):
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        visit(sharer_make(campaign), device="f1", address="10.22.0.1")
        visit(sharer_make(campaign), device="f2", address="10.22.0.2")
    buyer = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)
    go = buyer.get(f"/drop/{campaign.pk}/buy/?quantity=1")
    assert go.status_code == 302 and go["Location"].startswith("/checkout/?campaign=drop%3A")
    checkout = buyer.get(go["Location"])
    assert checkout.status_code == 200 and "¥78.00" in checkout.content.decode()
    ticket = re.search(r"campaign=([^&\"]+)", go["Location"]).group(1)
    placed = buyer.post(go["Location"], {**ADDRESS, "campaign": ticket.replace("%3A", ":")})
    assert placed.status_code == 302, placed.content.decode()[:2000]
    with tenant_context(shops.a):
        order = Order.objects.get(lines__campaign=f"drop:{campaign.pk}")
        assert order.lines.get().retail_price_fen == 7800
        panel = pricedrop_order_panel(order)
    assert "¥78.00" in panel and "after 2 counted shares" in panel


@pytest.mark.parametrize(
    "path",
    [
        "/drop/0/",
        "/drop/99999999999999999999/",
        "/drop/123456789/",
        "/drop/{pk}/s/bad-code!/",
        "/drop/{pk}/s/NOPE1234/",
        "/drop/{pk}/s/%00abc/",
        "/drop/123456789/live/",
    ],
)
def test_bad_links_are_not_found(shops, shop_client, path):
    campaign = drop_make(shops.a)
    answer = shop_client("a.localhost", HTTP_USER_AGENT=PHONE).get(path.format(pk=campaign.pk))
    assert answer.status_code == 404


@pytest.mark.parametrize("quantity", ["abc", "0", "99", "-1", "1e3", ""])
def test_a_bad_quantity_goes_back_to_the_page_with_a_message(shops, shop_client, quantity):
    campaign = drop_make(shops.a)
    answer = shop_client("a.localhost").get(f"/drop/{campaign.pk}/buy/?quantity={quantity}")
    assert answer.status_code == 302 and answer["Location"] == f"/drop/{campaign.pk}/"


def test_a_forged_checkout_ticket_gets_a_message_not_an_order(shops, shop_client):
    campaign = drop_make(shops.a)
    buyer = shop_client("a.localhost")
    for ticket in ("drop:forged.token:abc", "drop:" + "A" * 400, "drop:"):
        answer = buyer.get("/checkout/", {"campaign": ticket})
        assert answer.status_code == 302
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__campaign=f"drop:{campaign.pk}").exists()


def test_another_shop_never_shows_or_counts_this_shops_drop(shops, shop_client):
    campaign = drop_make(shops.a, title="只在 A 店的降价拍")
    with tenant_context(shops.a):
        sharer = sharer_make(campaign)
        code = sharer.share_link.code
    other = shop_client("b.localhost", HTTP_USER_AGENT=PHONE)
    page = other.get(f"/drop/{campaign.pk}/")
    assert page.status_code == 404 or "只在 A 店的降价拍" not in page.content.decode()
    assert other.get(f"/drop/{campaign.pk}/s/{code}/").status_code == 404
    assert counted(shops.a, campaign) == 0


# --- the creator's admin ---------------------------------------------------------------------


def local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def form(item_id: int, **over) -> dict:
    now = timezone.now()
    data = {
        "item": item_id,
        "title": "转发降价 辅食碗",
        "start_price": "88",
        "step": "0.50",
        "floor_price": "60",
        "quantity": "5",
        "per_fan_limit": "1",
        "starts_at": local(now - timedelta(minutes=5)),
        "ends_at": local(now + timedelta(days=2)),
    }
    data.update(over)
    return data


@pytest.mark.parametrize("role", ["editor", "service", "none"])
def test_roles_without_manage_shop_cannot_open_price_drops(shops, shop_client, role):
    campaign = drop_make(shops.a)
    client = admin_member(shops.a, shop_client, "a", role)
    for url in (
        "/admin/price-drops/",
        "/admin/price-drops/new/",
        f"/admin/price-drops/{campaign.pk}/",
        f"/admin/price-drops/{campaign.pk}/edit/",
        f"/admin/price-drops/{campaign.pk}/end/",
    ):
        assert client.get(url).status_code in (302, 403), url
    assert client.post(f"/admin/price-drops/{campaign.pk}/end/").status_code in (302, 403)
    with tenant_context(shops.a):
        assert PriceDrop.objects.get(pk=campaign.pk).status == "running"


def test_the_owner_creates_a_drop_and_sees_its_figures(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=20)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    assert owner.get("/admin/price-drops/new/").status_code == 200
    made = owner.post("/admin/price-drops/new/", form(item.pk))
    assert made.status_code == 302, made.content.decode()[:3000]
    with tenant_context(shops.a):
        campaign = PriceDrop.objects.get(item=item)
        assert (campaign.step_fen, campaign.status) == (50, "running")
        for n in range(3):
            visit(sharer_make(campaign), device=f"adm-{n}", address=f"10.23.{n}.1")
    detail = owner.get(f"/admin/price-drops/{campaign.pk}/").content.decode()
    assert "<svg" in detail and 'class="listing pricedrop-curve"' in detail
    assert "¥86.50" in detail  # 88 − 3 × 0.50
    assert re.search(r"1\*+\d", detail)  # sharers masked
    assert "/admin/price-drops/" in owner.get("/admin/").content.decode()
    with tenant_context(shops.a):
        assert DropSharer.objects.filter(campaign=campaign, counted_at__isnull=False).count() == 3
    # Shared already: a worse term is refused on its field, a better one saved.
    worse = owner.post(f"/admin/price-drops/{campaign.pk}/edit/", form(item.pk, floor_price="70"))
    assert worse.status_code == 400 and "in their favour" in worse.content.decode()
    better = owner.post(f"/admin/price-drops/{campaign.pk}/edit/", form(item.pk, step="1"))
    assert better.status_code == 302
    ended = owner.post(f"/admin/price-drops/{campaign.pk}/end/")
    assert ended.status_code == 302
    with tenant_context(shops.a):
        assert PriceDrop.objects.get(pk=campaign.pk).status == "ended"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"start_price": "abc"}, "start_price"),
        ({"start_price": "1e9"}, "start_price"),
        ({"start_price": "200"}, "start_price"),  # above the supplier's bounds
        ({"floor_price": "10"}, "floor_price"),
        ({"step": "-1"}, "step"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "99999999999"}, "quantity"),
        ({"ends_at": "yesterday"}, "ends_at"),
        ({"title": "坏\x00名字"}, "title"),
        ({"item": "999999999"}, "item"),
    ],
)
def test_bad_input_in_the_admin_form_is_a_clear_error(shops, shop_client, over, field):
    _listing, item = listed(shops.a, price=8800, stock=20)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    answer = owner.post("/admin/price-drops/new/", form(item.pk, **over))
    assert answer.status_code == 400
    assert re.search(rf'field-{field}".*?error-message', answer.content.decode(), re.S)


def test_another_shops_drop_is_not_found_in_the_admin(shops, shop_client):
    campaign = drop_make(shops.b, title="B 店的降价拍")
    owner = admin_member(shops.a, shop_client, "a", "owner")
    answer = owner.get(f"/admin/price-drops/{campaign.pk}/")
    assert answer.status_code == 404 or "B 店的降价拍" not in answer.content.decode()


def test_the_demo_seeds_a_drop_in_progress_once(shops):
    listed(shops.a, price=8800, stock=40)
    pricedrop_demo_seed(shop=shops.a)
    pricedrop_demo_seed(shop=shops.a)
    with tenant_context(shops.a):
        demo = PriceDrop.objects.get(title=DEMO_TITLE)
        pricedrop_flush(campaign_id=demo.pk)
        assert demo.status == "running"
        assert pricedrop_counted(campaign=demo) == DEMO_SHARES
        assert DropSharer.objects.filter(campaign=demo, counted_at__isnull=False).count() == 4
