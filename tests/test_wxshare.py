"""Shares that look right inside WeChat (storefront/wxshare): the JS-SDK config endpoint of a
shop's host, and the share card each article, product and campaign page carries — the same for
every visitor (pages are cached), the fan's own link coming only from the endpoint."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from cms.page_cache import page_cache_key
from storefront.models import Fan, ShareLink
from storefront.sharing.services import share_code_new
from tests.wechat_helpers import APPSECRET, FakeWeChat, WeChatState, wechat_server
from wechat import client, credentials
from wechat.jssdk import DEFAULT_JS_API_LIST, jssdk_signature

from .a3_helpers import fan_signed_in
from .cms_helpers import article_make, card, get, listing_make
from .flash_helpers import sale_make
from .groupbuy_helpers import tiered
from .pricedrop_helpers import drop_make, pricedrop_redis_clean  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("shops", "catalog_media", "catalog_english"),
]

JSCONFIG = "/wx/jsconfig"
SHARE_DATA = re.compile(r'<script id="wx-share" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def wechat_base() -> Iterator[str]:
    yield from wechat_server()


@pytest.fixture
def wx(settings, wechat_base) -> Iterator[WeChatState]:
    """An official account on the loopback WeChat, under a fresh AppID (its own Redis keys)."""
    appid = "wx" + secrets.token_hex(8)
    settings.WECHAT_OA_APPID = appid
    settings.WECHAT_OA_SECRET = APPSECRET
    settings.WECHAT_API_BASE = wechat_base
    settings.WECHAT_HTTP_TIMEOUT = 5.0
    state = WeChatState(appid=appid)
    FakeWeChat.state = state
    yield state
    redis = credentials.redis_client()
    stale = list(redis.scan_iter(f"wechat:oa:{appid}:*"))
    if stale:
        redis.delete(*stale)


@pytest.fixture
def no_wechat(settings):
    settings.WECHAT_OA_APPID = ""
    settings.WECHAT_OA_SECRET = ""


def jsconfig(shop_client, host: str, url: str, **extra):
    client = extra.pop("client", None) or shop_client(host)
    return client.get(f"{JSCONFIG}?url={quote(url, safe='')}", **extra)


def share_card(html: str) -> dict:
    found = SHARE_DATA.findall(html)
    assert len(found) == 1, "expected one share card on the page"
    return json.loads(found[0])


# --- /wx/jsconfig -------------------------------------------------------------------------------


def test_jsconfig_signs_the_page_without_its_fragment_with_the_ticket(wx, shop_client):
    page = "http://a.localhost/shop/p/12/?from=timeline&x=%E5%A5%BD#reviews"

    response = jsconfig(shop_client, "a.localhost", page)

    assert response.status_code == 200, response.content
    config = response.json()
    assert config["appId"] == wx.appid
    assert config["jsApiList"] == list(DEFAULT_JS_API_LIST)
    ticket = client.jsapi_ticket()  # the cached one the endpoint signed with (no new fetch)
    assert wx.paths("/cgi-bin/ticket/getticket") == 1
    expected = jssdk_signature(
        ticket, config["nonceStr"], config["timestamp"], page.split("#", 1)[0]
    )
    assert config["signature"] == expected
    assert "shareLink" not in config
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert APPSECRET not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "http://b.localhost/shop/",  # another shop
        "https://example.com/a.localhost/",
        "http://a.localhost.example.com/",
        "http://a.localhost@example.com/",
        "//a.localhost/shop/",
        "javascript:alert(1)//a.localhost",
        "ftp://a.localhost/",
        "http://a.localhost/\x00",
        "",
        "http://a.localhost/" + "x" * 3000,
    ],
)
def test_jsconfig_refuses_a_page_that_is_not_on_the_shops_own_host(wx, shop_client, url):
    response = jsconfig(shop_client, "a.localhost", url)

    assert response.status_code == 400
    assert response.json()["error"]
    assert wx.calls == []  # WeChat was not even asked


def test_jsconfig_without_an_official_account_is_503_with_words(no_wechat, shop_client):
    response = jsconfig(shop_client, "a.localhost", "http://a.localhost/")

    assert response.status_code == 503
    assert "not set up" in response.json()["error"]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("failure", ["whitelist", "http", "garbage"])
def test_jsconfig_when_wechat_fails_is_503_never_500(wx, shop_client, failure):
    if failure == "whitelist":
        wx.fail_with = (40164, "invalid ip 1.2.3.4, not in whitelist")
    elif failure == "http":
        wx.http_status = 502
    else:
        wx.raw_body = b"<html>busy</html>"

    response = jsconfig(shop_client, "a.localhost", "http://a.localhost/")

    assert response.status_code == 503
    assert "WeChat" in response.json()["error"]
    assert APPSECRET not in response.content.decode()


def test_jsconfig_is_rate_limited_per_client(wx, shop_client, settings):
    # A day's window, not a minute's that could turn between the requests.
    settings.VSTORE_RATES = {**settings.VSTORE_RATES, "wx_jsconfig": "2/d"}
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    codes = [
        jsconfig(shop_client, "a.localhost", "http://a.localhost/", REMOTE_ADDR=address).status_code
        for _ in range(3)
    ]

    assert codes == [200, 200, 429]


def test_jsconfig_gives_the_signed_in_fan_her_own_share_link_of_the_listing(wx, shops, shop_client):
    listing = listing_make(shops.a, title="分享的商品")
    with tenant_context(shops.a):
        her = Fan.objects.create(mobile=f"139{secrets.randbelow(10**8):08d}")
        code = share_code_new()
        ShareLink.objects.create(code=code, listing=listing, sharer=her)
        other = Fan.objects.create(mobile=f"139{secrets.randbelow(10**8):08d}")
    page = f"http://a.localhost/shop/p/{listing.pk}/"

    mine = shop_client("a.localhost")
    fan_signed_in(shops.a, mine, her.pk)
    theirs = shop_client("a.localhost")
    fan_signed_in(shops.a, theirs, other.pk)

    def link(c, listing_param):
        return c.get(f"{JSCONFIG}?url={quote(page, safe='')}&listing={listing_param}").json()

    assert link(mine, listing.pk)["shareLink"] == f"http://a.localhost/s/{code}/"
    assert "shareLink" not in link(theirs, listing.pk)
    assert "shareLink" not in link(shop_client("a.localhost"), listing.pk)
    assert "shareLink" not in link(mine, "1%00")
    # Shop B's host knows nothing of shop A's links.
    fan_signed_in(shops.b, mine, her.pk)
    other_shop = mine.get(
        f"{JSCONFIG}?url={quote('http://b.localhost/', safe='')}&listing={listing.pk}",
        HTTP_HOST="b.localhost",
    )
    assert other_shop.status_code == 200 and "shareLink" not in other_shop.json()


# --- the share card on pages --------------------------------------------------------------------


def test_article_page_carries_its_share_card(wx, shops, shop_client):
    listing = listing_make(shops.a, title="文章里的好物")
    article = article_make(shops.a, [card(listing.pk)], slug=f"wx-{secrets.token_hex(3)}")

    html = get(shop_client, "a.localhost", f"/{article.slug}/").text

    data = share_card(html)
    assert data["title"] == "好物分享"
    assert data["desc"]
    assert data["link"] == f"http://a.localhost/{article.slug}/"
    assert data["configUrl"] == JSCONFIG
    assert "listing" not in data  # an article: the link is the article's
    assert "storefront/wxshare.js" in html


def test_product_page_carries_title_description_absolute_image_and_listing(wx, shops, shop_client):
    listing = listing_make(shops.a, title="纯棉口水巾 wx")

    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    data = share_card(html)
    assert data["title"] == "纯棉口水巾 wx"
    assert data["desc"] == "我家在用"
    assert re.match(r"^http://a\.localhost/.+\.png$", data["imgUrl"]), data["imgUrl"]
    assert data["link"] == f"http://a.localhost/shop/p/{listing.pk}/"
    assert data["listing"] == listing.pk


def test_without_an_official_account_the_card_is_there_but_no_script(no_wechat, shops, shop_client):
    listing = listing_make(shops.a, title="没有公众号")

    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    assert share_card(html)["title"] == "没有公众号"
    assert "wxshare.js" not in html


@pytest.mark.usefixtures("pricedrop_redis_clean")
def test_campaign_pages_carry_the_campaigns_share_card(wx, shops, shop_client):
    sale = sale_make(shops.a)
    group, _item = tiered(shops.a, title="三人团更便宜")
    drop = drop_make(shops.a, title="转发降价 wx")

    pages = {
        f"/flash/{sale.pk}/": sale,
        f"/groupbuy/{group.pk}/": group,
        f"/drop/{drop.pk}/": drop,
    }
    for path, campaign in pages.items():
        response = get(shop_client, "a.localhost", path)
        assert response.status_code == 200, path
        data = share_card(response.text)
        title = getattr(campaign, "display_title", None) or campaign.title
        assert data["title"] == title, path
        assert data["desc"], path
        assert data["imgUrl"].startswith("http://a.localhost/"), (path, data["imgUrl"])
        assert data["link"] == f"http://a.localhost{path}", path
        assert "listing" not in data, path  # the campaign page is what is shared


def test_pages_that_are_not_for_sharing_have_no_card(wx, shop_client):
    html = get(shop_client, "a.localhost", "/cart/").text

    assert not SHARE_DATA.search(html)


def test_no_fans_link_is_in_a_cached_page(wx, shops, shop_client, settings):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30
    cache.clear()
    listing = listing_make(shops.a, title="缓存的页")
    with tenant_context(shops.a):
        her = Fan.objects.create(mobile=f"139{secrets.randbelow(10**8):08d}")
        code = share_code_new()
        ShareLink.objects.create(code=code, listing=listing, sharer=her)
    path = f"/shop/p/{listing.pk}/"

    signed_in = shop_client("a.localhost")
    fan_signed_in(shops.a, signed_in, her.pk)
    hers = signed_in.get(path).text
    first = shop_client("a.localhost").get(path)  # anonymous: rendered and stored
    second = shop_client("a.localhost").get(path)  # anonymous: served from the cache

    assert first.status_code == second.status_code == 200
    for html in (hers, first.text, second.text):
        assert code not in html
        assert share_card(html)["link"] == f"http://a.localhost{path}"
    request = RequestFactory(HTTP_HOST="a.localhost").get(path)
    request.LANGUAGE_CODE = settings.LANGUAGE_CODE
    with tenant_context(shops.a):
        stored = cache.get(page_cache_key(request))
    assert stored is not None, "the anonymous view was not cached"
    assert b'id="wx-share"' in stored[1] and code.encode() not in stored[1]
    # Her link comes from the endpoint, asked by her own browser (never cached).
    page = quote(f"http://a.localhost{path}", safe="")
    mine = signed_in.get(f"{JSCONFIG}?url={page}&listing={listing.pk}")
    assert mine.json()["shareLink"] == f"http://a.localhost/s/{code}/"
    cache.clear()


# --- wxshare.js in a browser --------------------------------------------------------------------

SDK_STUB = """
window.__wx = [];
window.wx = {
  config: function (c) { __wx.push(["config", c]); },
  ready: function (f) { setTimeout(f, 0); },
  updateAppMessageShareData: function (d) { __wx.push(["chat", d]); },
  updateTimelineShareData: function (d) { __wx.push(["moments", d]); }
};
"""
CARD = {
    "title": "辅食碗",
    "desc": "我家在用",
    "imgUrl": "http://a.localhost/media/p.png",
    "link": "http://a.localhost/shop/p/7/",
    "configUrl": "/wx/jsconfig",
    "listing": 7,
}
CONFIG = {
    "appId": "wx0123",
    "timestamp": 1700000000,
    "nonceStr": "abc",
    "signature": "f" * 40,
    "jsApiList": list(DEFAULT_JS_API_LIST),
}


def _script_run(*, user_agent: str, share_input: str = "", share_link: str = "") -> tuple:
    """Serve a page with CARD and storefront/wxshare.js from Playwright's router (no server):
    what the script asked for, and what it handed to the (stub) JS-SDK."""
    from pathlib import Path

    from .journey_helpers import chromium

    script = Path(__file__).resolve().parents[1] / "storefront/static/storefront/wxshare.js"
    html = (
        "<!doctype html><html><head>"
        f'<script id="wx-share" type="application/json">{json.dumps(CARD)}</script>'
        '<script src="/static/storefront/wxshare.js" defer></script></head><body>'
        + (f'<input class="share-url" value="{share_input}" readonly>' if share_input else "")
        + "</body></html>"
    )
    config = {**CONFIG, **({"shareLink": share_link} if share_link else {})}
    asked: list[str] = []

    def answer(route) -> None:
        url = route.request.url
        asked.append(url)
        if url.startswith("https://res.wx.qq.com/"):
            route.fulfill(body=SDK_STUB, content_type="application/javascript")
        elif "/wx/jsconfig" in url:
            route.fulfill(body=json.dumps(config), content_type="application/json")
        elif url.endswith("wxshare.js"):
            route.fulfill(body=script.read_text(), content_type="application/javascript")
        else:
            route.fulfill(body=html, content_type="text/html")

    with chromium() as browser:
        context = browser.new_context(user_agent=user_agent)
        context.route("**/*", answer)
        page = context.new_page()
        page.goto("http://a.localhost/shop/p/7/?from=timeline#reviews")
        if "MicroMessenger" in user_agent:
            page.wait_for_function("() => window.__wx && window.__wx.length === 3")
        calls = page.evaluate("() => window.__wx || []")
        context.close()
    return asked, calls


WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN"
)


@pytest.mark.browser
def test_inside_wechat_the_script_configures_the_sdk_and_sets_both_share_cards():
    asked, calls = _script_run(
        user_agent=WECHAT_UA, share_link="http://a.localhost/s/Hers2345abcd/"
    )

    config_asks = [u for u in asked if "/wx/jsconfig" in u]
    page = quote("http://a.localhost/shop/p/7/?from=timeline", safe="")
    assert config_asks == [f"http://a.localhost/wx/jsconfig?url={page}&listing=7"]
    assert "https://res.wx.qq.com/open/js/jweixin-1.6.0.js" in asked
    assert calls[0] == ["config", {**CONFIG, "debug": False}]
    chat = dict(calls[1:])["chat"]
    moments = dict(calls[1:])["moments"]
    assert chat == {
        "title": "辅食碗",
        "desc": "我家在用",
        "link": "http://a.localhost/s/Hers2345abcd/",
        "imgUrl": "http://a.localhost/media/p.png",
    }
    assert moments == {k: chat[k] for k in ("title", "link", "imgUrl")}


@pytest.mark.browser
def test_the_link_the_page_shows_her_comes_first_then_the_page_itself():
    _asked, shown = _script_run(
        user_agent=WECHAT_UA, share_input="http://a.localhost/drop/3/s/Mine2345abcd/"
    )
    _asked, plain = _script_run(user_agent=WECHAT_UA)

    assert dict(shown[1:])["chat"]["link"] == "http://a.localhost/drop/3/s/Mine2345abcd/"
    assert dict(plain[1:])["chat"]["link"] == "http://a.localhost/shop/p/7/"


@pytest.mark.browser
def test_outside_wechat_the_script_does_nothing():
    asked, calls = _script_run(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    )

    assert not [u for u in asked if "/wx/jsconfig" in u or "res.wx.qq.com" in u]
    assert calls == []
