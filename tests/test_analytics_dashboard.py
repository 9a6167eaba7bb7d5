"""The creator's dashboard (her shop admin's home): figures right for known orders, money only
for roles that may see it, nothing of another shop, empty shops show empty states, and each
article's own figures in its editor."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from billing.ledger import AccountRef, entry_post
from billing.models import Payment, Refund
from billing.payouts.selectors import creator_earnings
from storefront.models import Order, ShareLink

from .a2_helpers import (
    counts_make,
    dashboard_html,
    fan_make,
    figure,
    member_client,
    order_make,
    superuser_client,
    visitors_make,
)
from .cms_helpers import article_make, card
from .storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def home(client, period: str = "") -> str:
    response = client.get("/admin/" + (f"?period={period}" if period else ""))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def seeded(shops):
    """Shop a with known paid orders (and some that must not count), visitors and events.

    fan1 pays today (100.00) and 3 days ago (200.00); fan2 today (50.00) and 40 days ago
    (30.00); fan3 10 days ago (70.00); fan5 today (10.00) only. Unpaid and expired orders of
    fan4 never count.
    """
    _listing, item = listed(shops.a, price=8800, title="辅食碗")
    with tenant_context(shops.a):
        f1, f2, f3, f4, f5 = (fan_make(f"粉丝{i}") for i in range(1, 6))
        order_make(fan=f1, total_fen=10_000, days_ago=0, item=item, quantity=10)
        order_make(fan=f1, total_fen=20_000, days_ago=3)
        order_make(fan=f2, total_fen=5_000, days_ago=0, item=item, quantity=5)
        order_make(fan=f2, total_fen=3_000, days_ago=40)
        order_make(fan=f3, total_fen=7_000, days_ago=10)
        order_make(fan=f5, total_fen=1_000, days_ago=0, item=item, quantity=1)
        order_make(fan=f4, total_fen=9_999, status=Order.Status.PENDING_PAYMENT)
        order_make(fan=f4, total_fen=8_888, status=Order.Status.EXPIRED)
        visitors_make({0: 12, 3: 8, 20: 100})
        counts_make(
            [
                (0, "checkout_start", 0, 0, "", 10),
                (0, "share_visit", 0, 0, "share", 4),
            ]
        )
    return item


def test_owner_sees_the_periods_figures_from_known_orders(shops, shop_client, seeded):
    owner = member_client(shops.a, shop_client, "owner")
    week = dashboard_html(home(owner))  # the default period: 7 days
    # Paid in the last 7 days: 100 + 200 + 50 + 10 = 360.00 in 4 orders by 3 fans, of whom
    # fan1 (two orders) and fan2 (an order 40 days ago) are repeat buyers.
    assert figure(week, "orders") == "4"
    assert figure(week, "gmv") == "¥360.00"
    assert figure(week, "aov") == "¥90.00"
    assert figure(week, "repeat") == "66.7%"
    assert figure(week, "visitors") == "20"

    today = dashboard_html(home(owner, "today"))
    assert figure(today, "orders") == "3"
    assert figure(today, "gmv") == "¥160.00"
    assert figure(today, "aov") == "¥53.33"  # 16000 / 3, rounded to the fen
    assert figure(today, "repeat") == "66.7%"
    assert figure(today, "visitors") == "12"

    month = dashboard_html(home(owner, "30"))
    assert figure(month, "orders") == "5"
    assert figure(month, "gmv") == "¥430.00"
    assert figure(month, "repeat") == "50.0%"
    assert figure(month, "visitors") == "120"

    quarter = dashboard_html(home(owner, "90"))
    assert figure(quarter, "orders") == "6"
    assert figure(quarter, "gmv") == "¥460.00"
    assert figure(quarter, "repeat") == "50.0%"


def test_charts_and_their_tables_show_the_days_the_funnel_and_top_listings(
    shops, shop_client, seeded
):
    owner = member_client(shops.a, shop_client, "owner")
    html = dashboard_html(home(owner, "7"))
    assert html.count("<svg") >= 4  # GMV, orders, funnel, listings (+ sources)
    # Each chart has a table for screen readers, the same figures in rows (no article was
    # read: its empty state has none).
    assert html.count("<details") == 4
    assert "<caption" in html
    # The funnel: checkouts from the daily rows, paid orders from the orders themselves.
    assert "Checkouts started</th><td>10</td>" in html
    assert "Orders paid</th><td>4</td>" in html
    # Top listings by GMV: the bowl sold 16 units for 160.00 in 3 orders this week.
    assert "辅食碗</th><td>3</td><td>16</td><td>¥160.00</td>" in html
    # The day table has every day of the period, days without orders as zero.
    assert html.count("<time datetime=") == 7


def test_period_switcher_marks_the_current_period_and_ignores_forged_values(
    shops, shop_client, seeded
):
    owner = member_client(shops.a, shop_client, "owner")
    html = dashboard_html(home(owner, "30"))
    assert 'href="?period=30" class="button button-small" aria-current="page"' in html
    # Anything else is the default week, never an error.
    for forged in ("365", "-1", "'; DROP TABLE x;--", "7%00", "today" * 50):
        forged_html = dashboard_html(home(owner, forged))
        assert 'href="?period=7" class="button button-small" aria-current="page"' in forged_html
        assert figure(forged_html, "orders") == "4"


def test_customer_service_sees_orders_and_visitors_but_no_money(shops, shop_client, seeded):
    service = member_client(shops.a, shop_client, "service")
    with CaptureQueriesContext(connection) as queries:
        html = dashboard_html(home(service))
    assert figure(html, "orders") == "4"
    assert figure(html, "visitors") == "20"
    assert figure(html, "repeat") == "66.7%"
    for money in ("gmv", "aov", "pending", "available"):
        assert figure(html, money) == ""
    assert "¥" not in html
    assert "Commission" not in html and "GMV" not in html
    # Listings are ranked by units for it: the bowl's 16 units, no amount.
    assert "辅食碗</th><td>3</td><td>16</td></tr>" in html
    # The money is not even read: no query touches the ledger's postings.
    assert not any("billing_posting" in q["sql"] for q in queries.captured_queries)


def test_editors_get_no_dashboard_and_anonymous_users_go_to_log_in(shops, shop_client, seeded):
    editor = member_client(shops.a, shop_client, "editor")
    response = editor.get("/admin/")
    assert response.status_code == 200
    assert 'id="shop-dashboard-section"' not in response.content.decode()
    anonymous = shop_client("a.localhost").get("/admin/")
    connection.set_schema_to_public()
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_refunds_and_commission_are_this_shops_own(shops, shop_client, seeded):
    """Refunds asked for in the period (failed ones left out) and the ledger's balances now;
    shop b's refund and commission never show in a's dashboard."""
    from django.utils import timezone

    def payment(shop, number: str) -> Payment:
        return Payment.objects.create(
            tenant=shop,
            order_number=number,
            amount=10_000,
            provider="sandbox",
            out_trade_no=f"T{number}",
            status=Payment.Status.CAPTURED,
            expires_at=timezone.now(),
            captured_at=timezone.now(),
        )

    pa, pb = payment(shops.a, "RA1"), payment(shops.b, "RB1")
    Refund.objects.create(payment=pa, amount=2_500, idempotency_key="a1", out_refund_no="ra1")
    Refund.objects.create(
        payment=pa, amount=999, idempotency_key="a2", out_refund_no="ra2",
        status=Refund.Status.FAILED,
    )  # fmt: skip
    Refund.objects.create(payment=pb, amount=7_700, idempotency_key="b1", out_refund_no="rb1")
    before = creator_earnings(tenant_id=shops.a.pk)
    for tenant, fen in ((shops.a, 1_234), (shops.b, 99_900)):
        entry_post(
            key=f"test-dashboard-pending:{tenant.pk}",
            lines=[
                (AccountRef.clearing("sandbox"), fen),
                (AccountRef.commission_pending(tenant.pk), -fen),
            ],
        )
    owner = member_client(shops.a, shop_client, "owner")
    html = dashboard_html(home(owner))
    assert figure(html, "refunds") == "1 · ¥25.00"
    from core.money import yuan

    assert figure(html, "pending") == yuan(before.pending_fen + 1_234)
    assert figure(html, "available") == yuan(before.available_fen)


def test_shop_bs_orders_and_events_never_reach_shop_as_dashboard(shops, shop_client, seeded):
    _listing, item_b = listed(shops.b, price=8800, title="B店独家好物")
    with tenant_context(shops.b):
        fan = fan_make()
        order_make(fan=fan, total_fen=500_000, item=item_b, quantity=5)
        visitors_make({0: 5_000})
        counts_make([(0, "checkout_start", 0, 0, "", 777)])
    html_a = dashboard_html(home(member_client(shops.a, shop_client, "owner"), "today"))
    assert figure(html_a, "orders") == "3"
    assert figure(html_a, "gmv") == "¥160.00"
    assert figure(html_a, "visitors") == "12"
    assert "B店独家好物" not in html_a and "777" not in html_a
    html_b = dashboard_html(home(member_client(shops.b, shop_client, "owner"), "today"))
    assert figure(html_b, "orders") == "1"
    assert figure(html_b, "gmv") == "¥5,000.00"
    assert "辅食碗" not in html_b


def test_an_empty_shop_shows_empty_states_not_errors(shops, shop_client):
    owner = member_client(shops.b, shop_client, "owner")
    for period in ("today", "7", "30", "90"):
        html = dashboard_html(home(owner, period))
        assert figure(html, "orders") == "0"
        assert figure(html, "gmv") == "¥0.00"
        assert figure(html, "aov") == "—"
        assert figure(html, "repeat") == "—"
        assert "No paid orders in this period yet." in html
        assert "Nothing sold in this period yet." in html
        assert "No article was read in this period yet." in html


def test_top_articles_and_sources_from_the_daily_rows(shops, shop_client, seeded):
    listing, item = listed(shops.a, price=8800, title="绘本")
    art1 = article_make(shops.a, [card(listing.pk)], slug="dash-a1")
    art2 = article_make(shops.a, [card(listing.pk)], slug="dash-a2")
    with tenant_context(shops.a):
        art2.title = "宝宝第一本绘本"
        art2.save_revision().publish()
        fan = fan_make()
        sharer = fan_make()
        link = ShareLink.objects.create(code="DASHSHARE", listing=listing, sharer=sharer)
        order_make(fan=fan, total_fen=2000, item=item, share_link=link)
        # Orders of readers who tapped a card in an article (Order.source_page_id): two from
        # the picture-book article, one from the first.
        from_articles = [
            order_make(fan=fan, total_fen=2000, item=item),
            order_make(fan=fan, total_fen=3000, item=item),
            order_make(fan=sharer, total_fen=1500, item=item),
        ]
        for order, page in zip(from_articles, (art2, art2, art1), strict=True):
            Order.objects.filter(pk=order.pk).update(source_page_id=page.pk)
        counts_make(
            [
                (0, "article_view", art1.pk, 0, "", 50),
                (1, "article_view", art2.pk, 0, "", 30),
                (0, "card_tap", art2.pk, listing.pk, "", 9),
                (0, "order_paid", art2.pk, listing.pk, "", 2),
                (0, "order_paid", art1.pk, listing.pk, "campaign:7", 1),
                (0, "article_view", art1.pk, 0, "campaign:7", 5),
                (0, "order_paid", 0, 0, "coupon:SPRING", 3),
            ]
        )
    owner = member_client(shops.a, shop_client, "owner")
    html = dashboard_html(home(owner))
    assert "Top articles by orders" in html and "Top articles by GMV" in html
    # Ranked by the orders that came from them: the picture-book article (2) before the first
    # one (1); views and taps from the daily rows, orders and GMV from the orders themselves
    # (the order_paid events above are the sources' figures, not the articles').
    first, second = html.find("宝宝第一本绘本</a>"), html.find("好物分享</a>")
    assert -1 < first < second
    assert "宝宝第一本绘本</a></th><td>30</td><td>9</td><td>2</td><td>¥50.00</td>" in html
    assert "好物分享</a></th><td>55</td><td>0</td><td>1</td><td>¥15.00</td>" in html
    assert '宝宝第一本绘本</a></th><td>2</td><td data-figure="article-gmv">¥50.00</td>' in html
    # Sources: share links (the order through one), the campaign, the coupon, direct visits.
    assert "Share links</th><td>4</td><td>1</td>" in html
    assert "Campaign #7</th><td>5</td><td>1</td>" in html
    assert "Coupon SPRING</th><td>0</td><td>3</td>" in html
    assert "Direct</th><td>80</td><td>2</td>" in html


def test_article_editor_shows_the_articles_own_figures(shops, shop_client):
    listing, item = listed(shops.a, price=8800, title="绘本")
    article = article_make(shops.a, [card(listing.pk)], slug="dash-figures")
    other = article_make(shops.a, [card(listing.pk)], slug="dash-other")
    with tenant_context(shops.a):
        counts_make(
            [
                (0, "article_view", article.pk, 0, "", 40),
                (20, "article_view", article.pk, 0, "", 60),
                (0, "card_impression", article.pk, listing.pk, "", 35),
                (0, "card_tap", article.pk, listing.pk, "", 7),
                (0, "article_view", other.pk, 0, "", 999),
            ]
        )
        # Two paid orders of readers who came from the article (Order.source_page_id).
        fan = fan_make()
        for total in (8800, 17600):
            order = order_make(fan=fan, total_fen=total, item=item, quantity=total // 8800)
            Order.objects.filter(pk=order.pk).update(source_page_id=article.pk)
    owner = superuser_client(shops.a, shop_client)
    response = owner.get(f"/admin/pages/{article.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Figures of this article" in html
    rows = html[html.find('class="vs-article-figures"') :]
    # 7 days: 40 views; 30 and 90 days: 100 (the view 20 days ago too). Never the other's 999.
    assert 'data-figure="views">40<' in rows and 'data-figure="views">100<' in rows
    assert 'data-figure="taps">7<' in rows and 'data-figure="orders">2<' in rows
    assert 'data-figure="gmv">¥264.00<' in rows  # the owner sees their GMV
    assert "999" not in rows
    # An editor sees views and taps, not orders.
    editor = member_client(shops.a, shop_client, "editor")
    editor_html = editor.get(f"/admin/pages/{article.pk}/edit/").content.decode()
    if "vs-article-figures" in editor_html:  # editors may edit articles (Wagtail's Editors)
        assert 'data-figure="orders"' not in editor_html
        assert 'data-figure="gmv"' not in editor_html
        assert 'data-figure="views">40<' in editor_html


def test_demo_orders_are_paid_through_the_services_spread_over_the_days_and_seeded_once(
    shops, shop_client
):
    from billing.ledger_selectors import entries_for_order
    from catalog.models import SKU
    from storefront.analytics.demo_orders import MAX_ORDERS, demo_orders_seed

    _listing, item = listed(shops.b, price=8800, title="演示好物", stock=30)
    stock = SKU.objects.get(pk=item.sku_id).stock
    made = demo_orders_seed(shop=shops.b, days=20)
    assert 0 < made <= MAX_ORDERS
    assert demo_orders_seed(shop=shops.b, days=20) == 0  # idempotent
    with tenant_context(shops.b):
        orders = list(Order.objects.filter(contact_mobile__startswith="1990000"))
        days = {o.paid_at.date() for o in orders}
        total = sum(o.total_fen for o in orders)
    assert len(orders) == made
    assert all(o.status == Order.Status.PAID for o in orders)
    assert len(days) >= 10  # spread over the period, not all today
    # Each demo buyer joined (the fan list's 加入于) before her first order, not on seeding day.
    with tenant_context(shops.b):
        from storefront.models import Fan

        buyers = list(Fan.objects.filter(mobile__startswith="1990000"))
        firsts = {f.pk: min(o.created_at for o in orders if o.fan_id == f.pk) for f in buyers}
    assert all(f.created_at < firsts[f.pk] for f in buyers)
    assert len({f.created_at.date() for f in buyers}) >= 5
    # Each order is in the books: its payment captured and its capture entry posted.
    for order in orders[:5]:
        assert Payment.objects.get(tenant=shops.b, order_number=order.number).captured_at
        assert entries_for_order(tenant=shops.b, order_number=order.number).exists()
    assert SKU.objects.get(pk=item.sku_id).stock == stock  # the demo keeps its goods on sale
    html = dashboard_html(home(member_client(shops.b, shop_client, "owner"), "30"))
    from core.money import yuan

    assert figure(html, "orders") == str(made)
    assert figure(html, "gmv") == yuan(total)
