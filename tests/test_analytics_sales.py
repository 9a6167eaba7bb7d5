"""Paid orders rolled up by day (storefront/analytics/sales.py) and orders attributed to the
article whose card the buyer tapped (attribution.py): the dashboard's figures stay equal to a
direct computation from the orders before and after a rollup, after a paid order is cancelled
and after a late payment; a card tap in an article names that article on the order."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.testing import terms
from core.money import yuan
from storefront.analytics import sales as sales_mod
from storefront.analytics.attribution import SOURCE_COOKIE
from storefront.analytics.counting import client, key
from storefront.analytics.models import ListingSalesDay, PageSalesDay, SalesDay
from storefront.analytics.rollup import shop_has_work
from storefront.analytics.selectors import (
    articles,
    order_figures,
    page_figures,
    period_get,
    top_listings,
)
from storefront.models import Order, OrderLine

from .a1_helpers import PHONE, analytics_forget, rollup
from .a2_helpers import dashboard_html, fan_make, member_client, order_make
from .cms_helpers import article_make, card
from .storefront_helpers import ADDRESS, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

# The supplier's bounds around the small prices these tests list at (catalog.testing.terms()
# starts at ¥60).
SMALL = terms(supply=2000, suggested=3000, low=2500, high=6000)


def direct(period) -> dict:
    """The period's figures computed straight from the orders, the way a reader would."""
    paid = Order.objects.filter(
        status=Order.Status.PAID, paid_at__gte=period.start, paid_at__lt=period.end
    )
    per_day: dict = defaultdict(lambda: [0, 0])
    pages: dict = defaultdict(lambda: [0, 0])
    for order in paid:
        day = timezone.localdate(order.paid_at)
        per_day[day][0] += 1
        per_day[day][1] += order.total_fen
        if order.source_page_id:
            pages[order.source_page_id][0] += 1
            pages[order.source_page_id][1] += order.total_fen
    listings = {
        row["listing_id"]: (row["units"], row["gmv"])
        for row in OrderLine.objects.filter(order__in=paid)
        .values("listing_id")
        .annotate(
            units=Sum("quantity"),
            gmv=Sum(
                F("retail_price_fen") * F("quantity")
                - F("creator_discount_fen")
                - F("platform_discount_fen")
            ),
        )
    }
    return {
        "days": {d: tuple(v) for d, v in per_day.items()},
        "orders": paid.count(),
        "gmv": sum(o.total_fen for o in paid),
        "shared": paid.filter(share_link__isnull=False).count(),
        "pages": {pk: tuple(v) for pk, v in pages.items()},
        "listings": listings,
    }


def read(period) -> dict:
    """The same figures as the dashboard reads them."""
    figures = order_figures(period=period)
    return {
        "days": {d.day: (d.orders, d.gmv_fen) for d in figures.days if d.orders},
        "orders": figures.orders,
        "gmv": figures.gmv_fen,
        "shared": figures.shared,
        "pages": {
            a.page_id: (a.orders, a.gmv_fen)
            for a in articles(period=period, daily=[], orders=figures)
            if a.orders
        },
        "listings": {
            x.listing_id: (x.units, x.gmv_fen)
            for x in top_listings(period=period, by="units", orders=figures)
        },
    }


@pytest.fixture
def history(shops):
    """Shop a: paid orders today, yesterday, 3, 10 and 40 days ago, two of them from an
    article, one through a share link; unpaid ones that never count."""
    from storefront.models import ShareLink

    analytics_forget(shops.a)
    listing, item = listed(shops.a, price=3000, title="辅食勺", price_terms=SMALL)
    page = article_make(shops.a, [card(listing.pk)], slug=f"sales-{uuid.uuid4().hex[:8]}")
    with tenant_context(shops.a):
        fans = [fan_make(f"买家{n}") for n in range(4)]
        link = ShareLink.objects.create(code=uuid.uuid4().hex[:12], listing=listing, sharer=fans[3])
        made = [
            order_make(fan=fans[0], total_fen=3000, days_ago=0, item=item),
            order_make(fan=fans[1], total_fen=6000, days_ago=1, item=item, quantity=2),
            order_make(fan=fans[0], total_fen=9000, days_ago=3, item=item, quantity=3),
            order_make(fan=fans[2], total_fen=3000, days_ago=10, item=item, share_link=link),
            order_make(fan=fans[1], total_fen=12000, days_ago=40, item=item, quantity=4),
            order_make(fan=fans[2], total_fen=500, status=Order.Status.PENDING_PAYMENT),
        ]
        Order.objects.filter(pk__in=[made[2].pk, made[3].pk]).update(source_page_id=page.pk)
    connection.set_schema_to_public()
    yield {"orders": made, "page": page, "item": item}
    analytics_forget(shops.a)


def test_figures_equal_the_orders_before_and_after_the_rollup(shops, history):
    with tenant_context(shops.a):
        for key in ("7", "30", "90"):
            assert read(period_get(key)) == direct(period_get(key))
        assert not SalesDay.objects.exists()  # nothing rolled up yet: read from the orders

    assert rollup(shops.a).sales_days == sales_mod.ROLL_DAYS - sales_mod.LIVE_DAYS

    with tenant_context(shops.a):
        today = timezone.localdate()
        three = SalesDay.objects.get(day=today - timedelta(days=3))
        assert (three.orders, three.gmv_fen, three.shared_orders) == (1, 9000, 0)
        assert SalesDay.objects.get(day=today - timedelta(days=10)).shared_orders == 1
        assert not SalesDay.objects.filter(day__gte=today - timedelta(days=1)).exists()
        assert PageSalesDay.objects.get(day=today - timedelta(days=3)).gmv_fen == 9000
        assert ListingSalesDay.objects.aggregate(u=Sum("units"))["u"] == 3 + 1 + 4
        for key in ("today", "7", "30", "90"):
            assert read(period_get(key)) == direct(period_get(key))
    assert rollup(shops.a).sales_days == 0  # nothing changed: nothing remade


def test_a_cancelled_paid_order_and_a_late_payment_are_right_after_the_check(shops, history):
    rollup(shops.a)
    with tenant_context(shops.a):
        period = period_get("30")
        # A failed group buy cancels a member's paid order of 10 days ago.
        Order.objects.filter(pk=history["orders"][3].pk).update(status=Order.Status.CANCELLED)
        # A payment captured 5 days ago is marked paid only now: its day is marked where the
        # order turns paid (counting.order_paid_count), and read from the orders at once.
        late = history["orders"][5]
        Order.objects.filter(pk=late.pk).update(
            status=Order.Status.PAID, paid_at=timezone.now() - timedelta(days=5)
        )
        sales_mod.sales_day_dirty(shop_id=shops.a.pk, day=timezone.localdate() - timedelta(5))
        got, want = read(period), direct(period)
        assert got["days"] == want["days"] | {
            timezone.localdate() - timedelta(days=10): (1, 3000)  # not checked yet
        }
    # An hour later the check is due: it finds the day whose paid orders changed; the marked
    # day is remade too, and its mark cleared.
    client().delete(key(shops.a.pk, sales_mod.SCHECKED))
    assert shop_has_work([shops.a.pk]) == [shops.a.pk]
    result = rollup(shops.a)
    assert result.sales_days == 2
    with tenant_context(shops.a):
        assert read(period) == direct(period)
        assert sales_mod.dirty_days(shops.a.pk) == set()


def test_a_card_tap_in_an_article_names_it_on_the_order_and_its_gmv(shops, shop_client):
    analytics_forget(shops.a)
    listing, item = listed(shops.a, price=4500, title="绘本套装", price_terms=SMALL)
    page = article_make(shops.a, [card(listing.pk)], slug=f"tap-{uuid.uuid4().hex[:8]}")
    reader = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)

    viewed = reader.post(
        "/a/e",
        data=json.dumps({"p": page.pk, "e": [["article_view", 0]]}),
        content_type="text/plain",
    )
    assert viewed.status_code == 204 and SOURCE_COOKIE not in viewed.cookies  # a view: no
    tapped = reader.post(
        "/a/e",
        data=json.dumps({"p": page.pk, "e": [["card_tap", listing.pk]]}),
        content_type="text/plain",
    )
    assert tapped.status_code == 204 and SOURCE_COOKIE in tapped.cookies
    assert tapped.cookies[SOURCE_COOKIE]["httponly"]
    connection.set_schema_to_public()

    # The card's 立即购买 → checkout (its page) → the order.
    added = reader.post("/cart/add/", {"item": item.pk, "quantity": 2, "buy_now": "1"})
    assert reader.get(added["Location"]).status_code == 200
    assert reader.post("/checkout/?now=1", ADDRESS).status_code == 302
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        order = Order.objects.get(lines__item=item)
        assert order.source_page_id == page.pk
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
        figures = page_figures(page_id=page.pk, period=period_get("7"))
        assert (figures.orders, figures.gmv_fen) == (1, order.total_fen)
    connection.set_schema_to_public()
    owner = member_client(shops.a, shop_client, "owner")
    html = dashboard_html(owner.get("/admin/").content.decode())
    assert "Top articles by GMV" in html
    assert f'data-figure="article-gmv">{yuan(order.total_fen)}<' in html


def test_a_forged_or_foreign_source_cookie_names_no_article(shops, shop_client):
    listing, item = listed(shops.a, price=4500, price_terms=SMALL)
    home_tap = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)
    with tenant_context(shops.a):
        from cms.models import HomePage

        home = HomePage.objects.get()
    connection.set_schema_to_public()
    # A card tap on the home page (not an article) names nothing.
    tapped = home_tap.post(
        "/a/e",
        data=json.dumps({"p": home.pk, "e": [["card_tap", listing.pk]]}),
        content_type="text/plain",
    )
    assert tapped.status_code == 204 and SOURCE_COOKIE not in tapped.cookies
    connection.set_schema_to_public()

    listing_b, _item_b = listed(shops.b, price=4500, price_terms=SMALL)
    page = article_make(shops.b, [card(listing_b.pk)], slug=f"foreign-{uuid.uuid4().hex[:8]}")
    other = shop_client("b.localhost", HTTP_USER_AGENT=PHONE)
    foreign = other.post(
        "/a/e",
        data=json.dumps({"p": page.pk, "e": [["card_tap", listing_b.pk]]}),
        content_type="text/plain",
    )
    assert SOURCE_COOKIE in foreign.cookies  # shop b's own article: named there
    connection.set_schema_to_public()
    buyer = shop_client("a.localhost", HTTP_USER_AGENT=PHONE)
    # Shop b's signed value, and a made-up one, carried into shop a's checkout.
    for value in (other.cookies.get(SOURCE_COOKIE), "12345"):
        if value is not None:
            buyer.cookies[SOURCE_COOKIE] = value if isinstance(value, str) else value.value
        added = buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
        assert buyer.get(added["Location"]).status_code == 200
        connection.set_schema_to_public()
    assert buyer.post("/checkout/?now=1", ADDRESS).status_code == 302
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        assert Order.objects.get(lines__item=item).source_page_id is None


def test_the_session_key_is_the_one_checkout_reads():
    from storefront.analytics.attribution import SESSION_SOURCE_PAGE
    from storefront.orders.visitor import SESSION_SOURCE_PAGE as CHECKOUT_READS

    assert SESSION_SOURCE_PAGE == CHECKOUT_READS
