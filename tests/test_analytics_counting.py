"""Counting a shop's events (storefront/analytics): exact under concurrency, unique visitors
within the HyperLogLog's error, bots ignored, the beacon refusing bad input with a 400 (never a
500), shops kept apart, and the cached pages carrying the beacon while the cache's hit path
counts nothing itself."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import date

import pytest
from django.db import connection
from django.db.models import Max
from django_tenants.utils import tenant_context
from wagtail.models import Page

from cms.models import ArticlePage, HomePage, ShopIndexPage
from storefront.analytics.counting import (
    Event,
    event_count,
    events_count,
    is_bot,
    visitor_of,
)
from storefront.models import Listing, Order

from .a1_helpers import (
    PHONE,
    analytics_keys,
    clean_analytics,
    committed_analytics,
    counts,
    rollup,
    total,
    visitors,
)
from .cms_helpers import card, grid
from .storefront_helpers import listed

# Each test but the browser's runs in a rolled-back transaction; the browser's server thread
# must see committed rows (committed_analytics).
pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

__all__ = ["clean_analytics", "committed_analytics"]  # fixtures, used by name below
TODAY = date(2026, 3, 2)
TOKENS = re.compile(rb'name="csrfmiddlewaretoken" value="[A-Za-z0-9]+"')
# Redis's HyperLogLog: standard error 0.81 %; three standard errors cover 99.7 % of runs.
HLL_ERROR = 3 * 0.0081


def article(shop, body: list) -> ArticlePage:
    with tenant_context(shop):
        page = HomePage.objects.get().add_child(
            instance=ArticlePage(title="好物分享", slug=f"a-{uuid.uuid4().hex[:10]}", body=body)
        )
    connection.set_schema_to_public()
    return page


def only_in_b(shops) -> Listing:
    """A listing of shop b whose id shop a has never used (ids are per schema: many are in both
    shops). b's id sequence is moved past a's; sequences are not rolled back, which is harmless."""
    with tenant_context(shops.a):
        a_last = Listing.objects.aggregate(m=Max("pk"))["m"] or 0
    with tenant_context(shops.b), connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('storefront_listing', 'id'), "
            "GREATEST(%s, (SELECT last_value FROM storefront_listing_id_seq)) + 1)",
            [a_last],
        )
    connection.set_schema_to_public()
    other, _ = listed(shops.b)
    with tenant_context(shops.a):
        assert not Listing.objects.filter(pk=other.pk).exists()
    connection.set_schema_to_public()
    return other


def beacon(client, body, *, agent: str = PHONE, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = client.post(
        "/a/e", data=data, content_type="text/plain;charset=UTF-8", HTTP_USER_AGENT=agent, **extra
    )
    connection.set_schema_to_public()
    return response


# --- counting ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_are_exact_under_concurrent_views(shops, clean_analytics):
    """Eight threads count 500 views each of one article at the same moment: 4,000, not fewer."""
    start = threading.Barrier(8)

    def views() -> None:
        start.wait()
        for _ in range(500):
            event_count(shop_id=shops.a.pk, event="article_view", page_id=7, visitor="v")

    threads = [threading.Thread(target=views) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rollup(shops.a)
    assert total(shops.a, event="article_view", page_id=7) == 4000


@pytest.mark.django_db
def test_unique_visitors_are_counted_within_the_hyperloglog_error(shops, clean_analytics):
    """5,000 readers, each reading two pages: about 5,000 visitors (±2.43 %), not 10,000."""
    readers = [f"reader-{n}" for n in range(5_000)]
    for page_id in (1, 2):
        for reader in readers:
            events_count(
                shop_id=shops.a.pk,
                events=[Event("article_view", page_id)],
                visitor=reader,
                day=TODAY,
            )

    rollup(shops.a, today=TODAY)
    counted = visitors(shops.a)[TODAY]
    assert abs(counted - 5_000) <= HLL_ERROR * 5_000, counted
    assert total(shops.a, event="article_view") == 10_000


@pytest.mark.django_db
def test_a_visitor_is_the_same_all_day_and_not_the_next(shops, rf):
    request = rf.get("/", HTTP_USER_AGENT=PHONE, REMOTE_ADDR="203.0.113.9")
    monday = visitor_of(request, shop_id=shops.a.pk, day=date(2026, 3, 2))
    assert visitor_of(request, shop_id=shops.a.pk, day=date(2026, 3, 2)) == monday
    assert visitor_of(request, shop_id=shops.a.pk, day=date(2026, 3, 3)) != monday
    assert visitor_of(request, shop_id=shops.b.pk, day=date(2026, 3, 2)) != monday
    assert "203.0.113.9" not in monday  # a keyed hash, never the address itself


BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36"
    " (compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0.0.0 Safari/537.36",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "",
]
PEOPLE = [
    PHONE,
    "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0 Mobile Safari/537.36 VivoBrowser/18.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0",
]


@pytest.mark.parametrize("agent", BOTS)
@pytest.mark.django_db
def test_known_bots_are_not_counted(shops, shop_client, clean_analytics, agent):
    page = article(shops.a, [])
    event_count(shop_id=shops.a.pk, event="article_view", page_id=page.pk, user_agent=agent)
    response = beacon(shop_client("a.localhost"), {"p": page.pk, "e": [["article_view", 0]]},
                      agent=agent)  # fmt: skip

    assert is_bot(agent)
    assert response.status_code == 204  # nothing to tell a bot
    assert analytics_keys(shops.a) == []


@pytest.mark.parametrize("agent", PEOPLE)
@pytest.mark.django_db
def test_people_are_counted(shops, shop_client, clean_analytics, agent):
    page = article(shops.a, [])
    response = beacon(shop_client("a.localhost"), {"p": page.pk, "e": [["article_view", 0]]},
                      agent=agent)  # fmt: skip

    assert not is_bot(agent)
    assert response.status_code == 204
    rollup(shops.a)
    assert total(shops.a, event="article_view", page_id=page.pk) == 1
    assert sum(visitors(shops.a).values()) == 1


@pytest.mark.django_db
def test_counting_without_redis_loses_the_count_not_the_page(shops, shop_client, settings):
    """Figures are not worth a failed page, checkout or payment: Redis down, the beacon still
    answers 204 and event_count returns."""
    page = article(shops.a, [])
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port

    event_count(shop_id=shops.a.pk, event="order_paid")
    response = beacon(shop_client("a.localhost"), {"p": page.pk, "e": [["article_view", 0]]})
    assert response.status_code == 204


# --- the beacon ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_beacon_counts_a_view_card_impressions_and_taps(shops, shop_client, clean_analytics):
    one, _ = listed(shops.a)
    two, _ = listed(shops.a)
    page = article(shops.a, [grid([one.pk, two.pk])])
    client = shop_client("a.localhost")

    body = {
        "p": page.pk,
        "e": [["article_view", 0], ["card_impression", one.pk], ["card_impression", two.pk]],
    }
    assert beacon(client, body).status_code == 204
    tap = {"p": page.pk, "e": [["card_tap", two.pk]], "s": "share"}
    assert beacon(client, tap).status_code == 204
    # As a plain GET (no script API at all) would send it.
    got = client.get(f"/a/e?p={page.pk}&e=card_tap:{one.pk}", HTTP_USER_AGENT=PHONE)
    assert got.status_code == 204

    rollup(shops.a)
    day = next(iter(counts(shops.a)))[0]
    assert counts(shops.a) == {
        (day, "article_view", page.pk, 0, ""): 1,
        (day, "card_impression", page.pk, one.pk, ""): 1,
        (day, "card_impression", page.pk, two.pk, ""): 1,
        (day, "card_tap", page.pk, two.pk, "share"): 1,
        (day, "card_tap", page.pk, one.pk, ""): 1,
    }
    assert visitors(shops.a) == {day: 1}  # one reader


@pytest.mark.django_db
def test_one_beacon_adds_at_most_one_view_and_one_impression_per_card(
    shops, shop_client, clean_analytics
):
    listing, _ = listed(shops.a)
    page = article(shops.a, [card(listing.pk)])
    body = {"p": page.pk, "e": [["article_view", 0]] * 20 + [["card_impression", listing.pk]] * 30}

    assert beacon(shop_client("a.localhost"), body).status_code == 204
    rollup(shops.a)
    assert total(shops.a, event="article_view") == 1
    assert total(shops.a, event="card_impression") == 1


def _bad_inputs(page_id: int, listing_id: int, other_listing_id: int) -> list:
    return [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        "null",
        json.dumps({"p": page_id, "e": "article_view"}),
        json.dumps({"p": page_id, "e": [["page_view", 0]]}),
        json.dumps({"p": page_id, "e": [["share_visit", listing_id]]}),  # server-side only
        json.dumps({"p": page_id, "e": [["order_paid", 0]]}),
        json.dumps({"p": page_id, "e": [["card_tap", 0]]}),  # a tap names its card
        json.dumps({"p": page_id, "e": [["card_tap", -1]]}),
        json.dumps({"p": page_id, "e": [["card_tap", True]]}),
        json.dumps({"p": page_id, "e": [["card_tap", 1.5]]}),
        json.dumps({"p": page_id, "e": [["card_tap", 2**40]]}),
        json.dumps({"p": page_id, "e": [["card_tap", listing_id, 3]]}),
        json.dumps({"p": page_id, "e": [["card_tap", other_listing_id]]}),  # another shop's
        json.dumps({"p": "7; DROP TABLE x", "e": []}),
        json.dumps({"p": 2_000_000_000, "e": [["article_view", 0]]}),  # no such page
        json.dumps({"p": page_id, "e": [], "s": "campaign:x"}),
        json.dumps({"p": page_id, "e": [], "s": "<script>"}),
        json.dumps({"p": page_id, "e": [], "s": 5}),
        json.dumps({"p": page_id, "e": [["card_impression", listing_id]] * 61}),
        json.dumps({"p": page_id, "e": [], "pad": "x" * 5000}),
    ]


@pytest.mark.django_db
def test_bad_beacons_get_400_never_500(shops, shop_client, clean_analytics):
    listing, _ = listed(shops.a)
    other = only_in_b(shops)
    page = article(shops.a, [card(listing.pk)])
    client = shop_client("a.localhost", raise_request_exception=True)

    for body in _bad_inputs(page.pk, listing.pk, other.pk):
        response = beacon(client, body)
        assert response.status_code == 400, body
    for query in ("p=x", "p=1&e=card_tap:abc", "e=nothing:1", f"p={page.pk}&e=share_visit:1"):
        response = client.get(f"/a/e?{query}", HTTP_USER_AGENT=PHONE)
        assert response.status_code == 400, query
    assert client.put("/a/e", "{}", HTTP_USER_AGENT=PHONE).status_code == 405
    assert analytics_keys(shops.a) == []  # nothing counted, not even a visitor


@pytest.mark.django_db
def test_another_sites_pages_cannot_post_beacons(shops, shop_client, clean_analytics):
    page = article(shops.a, [])
    body = {"p": page.pk, "e": [["article_view", 0]]}
    client = shop_client("a.localhost")

    assert beacon(client, body, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert beacon(client, body, HTTP_ORIGIN="http://b.localhost").status_code == 403
    assert beacon(client, body, HTTP_ORIGIN="http://a.localhost").status_code == 204
    rollup(shops.a)
    assert total(shops.a, event="article_view") == 1


@pytest.mark.django_db
def test_a_client_inflates_counts_by_the_rate_limit_at_most(shops, shop_client, settings):
    # A day's window: a run never straddles its edge (the limit's windows are fixed).
    settings.VSTORE_RATES = {**settings.VSTORE_RATES, "analytics_beacon": "5/d"}
    from .a1_helpers import analytics_forget

    analytics_forget(shops.a)
    page = article(shops.a, [])
    # A fresh client every run (the limit counts per /64): earlier runs' counts never matter.
    address = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    client = shop_client("a.localhost", REMOTE_ADDR=address)
    body = {"p": page.pk, "e": [["article_view", 0]]}

    answers = [beacon(client, body).status_code for _ in range(200)]

    assert answers[:5] == [204] * 5 and set(answers[5:]) == {429}
    rollup(shops.a)
    assert total(shops.a, event="article_view") == 5
    analytics_forget(shops.a)


# --- where events come from ----------------------------------------------------------------------


@pytest.mark.django_db
def test_shops_never_see_each_others_events(shops, shop_client, clean_analytics):
    """The same page id exists in both shops (their schemas are clones): a's views stay a's."""
    listing_a, _ = listed(shops.a)
    page_a = article(shops.a, [card(listing_a.pk)])
    with tenant_context(shops.b):
        home_b = HomePage.objects.get().pk
    connection.set_schema_to_public()

    body = {"p": page_a.pk, "e": [["article_view", 0], ["card_tap", listing_a.pk]]}
    assert beacon(shop_client("a.localhost"), body).status_code == 204
    assert beacon(shop_client("b.localhost"), {"p": home_b, "e": []}).status_code == 204
    rollup(shops.a)
    rollup(shops.b)

    assert total(shops.a) == 2
    assert counts(shops.b) == {}
    assert sum(visitors(shops.b).values()) == 1  # b's own reader, in b only
    assert all(str(shops.b.pk) not in k for k in analytics_keys(shops.a))


@pytest.mark.django_db
def test_share_visits_and_checkout_starts_are_counted_where_they_happen(
    shops, shop_client, clean_analytics
):
    from storefront.models import Fan, ShareLink

    listing, item = listed(shops.a)
    with tenant_context(shops.a):
        fan = Fan.objects.create(mobile="13900139000")
        link = ShareLink.objects.create(code=uuid.uuid4().hex[:12], listing=listing, sharer=fan)
    connection.set_schema_to_public()
    friend = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)

    assert friend.get(f"/s/{link.code}/").status_code == 302
    assert friend.get(f"/s/{link.code}/").status_code == 302  # same session: once
    added = friend.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    assert friend.get(added["Location"]).status_code == 200
    connection.set_schema_to_public()

    rollup(shops.a)
    day = next(iter(counts(shops.a)))[0]
    assert counts(shops.a) == {
        (day, "share_visit", 0, listing.pk, "share"): 1,
        (day, "checkout_start", 0, 0, "share"): 1,
    }


@pytest.mark.django_db
def test_a_paid_order_is_counted_once(
    shops, shop_client, clean_analytics, django_capture_on_commit_callbacks
):
    from billing.models import Payment
    from storefront.orders.services import order_mark_paid

    from .payments_helpers import post_notification
    from .storefront_helpers import buy_now

    _listing, item = listed(shops.a)
    buyer = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)
    buy_now(buyer, item, contact="mum@example.com")
    with tenant_context(shops.a):
        order = Order.objects.get(lines__item=item)
    connection.set_schema_to_public()
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_notification(payment).status_code == 200
        connection.set_schema_to_public()
        with tenant_context(shops.a):
            for _ in range(3):  # the task retried, a late duplicate: still one paid order
                order_mark_paid(order_number=order.number, payment_id=payment.pk)
    connection.set_schema_to_public()

    rollup(shops.a)
    assert total(shops.a, event="order_paid") == 1


# --- the page cache ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cached_pages_carry_the_beacon_and_the_hit_path_counts_nothing(
    shops, shop_client, clean_analytics, settings
):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30
    listing, _ = listed(shops.a)
    page = article(shops.a, [card(listing.pk)])
    url = f"/{page.slug}/"
    first = shop_client("a.localhost").get(url, HTTP_USER_AGENT=PHONE)
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        Page.objects.filter(pk=page.pk).update(title="改过的标题")  # behind the cache's back
    connection.set_schema_to_public()

    hits = [shop_client("a.localhost").get(url, HTTP_USER_AGENT=PHONE) for _ in range(20)]
    connection.set_schema_to_public()

    assert all(h.status_code == 200 and "改过的标题" not in h.text for h in hits)  # cached
    html = hits[-1].text
    assert f'data-p="{page.pk}" data-v="article_view"' in html
    assert "navigator.sendBeacon" in html and '"/a/e"' in html
    assert f'data-listing="{listing.pk}"' in html  # what impressions and taps name
    # The very bytes rendered first, but for each reader's own CSRF token.
    assert TOKENS.sub(b"", hits[-1].content) == TOKENS.sub(b"", first.content)
    # The hit path ran no counting of its own: only the reader's beacon counts.
    assert analytics_keys(shops.a) == []


@pytest.mark.django_db
def test_product_and_home_pages_carry_their_own_view(shops, shop_client, settings):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30
    listing, _ = listed(shops.a)
    with tenant_context(shops.a):
        index = ShopIndexPage.objects.get()
        home = HomePage.objects.get()
        product_url = index.url + index.product_path(listing.pk)
    connection.set_schema_to_public()

    product = shop_client("a.localhost").get(product_url)
    home_page = shop_client("a.localhost").get("/")
    connection.set_schema_to_public()

    assert f'data-p="{index.pk}" data-v="product_view" data-l="{listing.pk}"' in product.text
    assert f'data-p="{home.pk}" data-v="" data-l="0"' in home_page.text


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_a_phone_reports_the_view_the_cards_it_saw_and_the_tap(
    shops, platform_server, committed_analytics, settings
):
    """Chromium on a phone reads a cached article: the page's script sends the view at once,
    the impressions of the cards scrolled into sight, and the tap on the card that was tapped;
    a second reader gets the cached copy and is counted the same way."""
    from .journey_helpers import PHONE as BROWSER_PHONE
    from .journey_helpers import chromium

    settings.VSTORE_PAGE_CACHE_SECONDS = 60
    seen, _ = listed(shops.a, title="看到的好物")
    far, _ = listed(shops.a, title="没看到的好物")
    spacer = {"type": "paragraph", "value": "<p>" + "很长的文章。" * 400 + "</p>"}
    page_obj = article(shops.a, [card(seen.pk), spacer, spacer, spacer, card(far.pk)])
    port = platform_server.rsplit(":", 1)[1]
    url = f"http://a.localhost:{port}/{page_obj.slug}/"

    def beacon_to_come(tab, sent: list, what: str) -> str:
        """The body of the beacon carrying WHAT, waiting for it if it has not been sent yet.
        (The sync API handles events only inside its own calls: no beacon slips between the
        look at SENT and the wait.)"""
        for request in sent:
            if what in (request.post_data or ""):
                return request.post_data
        request = tab.wait_for_event(
            "request",
            predicate=lambda r: r.url.endswith("/a/e") and what in (r.post_data or ""),
            timeout=30_000,
        )
        return request.post_data

    with chromium() as browser:
        for _reader in range(2):
            phone = browser.new_context(**BROWSER_PHONE)
            tab = phone.new_page()
            sent: list = []
            tab.on("request", lambda r, sent=sent: r.url.endswith("/a/e") and sent.append(r))
            tab.goto(url)
            assert '["article_view",0]' in beacon_to_come(tab, sent, "article_view")
            # The first card comes into sight (at least half of it), the last one never does.
            tab.locator(f'article.pc[data-listing="{seen.pk}"]').scroll_into_view_if_needed()
            shown = beacon_to_come(tab, sent, f'["card_impression",{seen.pk}]')
            assert f'["card_impression",{far.pk}]' not in shown
            tab.locator(f'article.pc[data-listing="{seen.pk}"] a.pc-link').click()
            assert beacon_to_come(tab, sent, f'["card_tap",{seen.pk}]')
            phone.close()

    rollup(shops.a)
    assert total(shops.a, event="article_view", page_id=page_obj.pk) == 2
    assert total(shops.a, event="card_impression", listing_id=seen.pk) == 2
    assert total(shops.a, event="card_impression", listing_id=far.pk) == 0
    assert total(shops.a, event="card_tap", listing_id=seen.pk) == 2
    assert sum(visitors(shops.a).values()) == 1  # the same phone, address and day: one reader
