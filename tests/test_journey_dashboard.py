"""The creator's dashboard in real Chromium: she signs in to her shop's admin and lands on her
figures; the server-drawn charts are visible at desktop and phone sizes, the period switcher
moves to 30 days, and a chart's table view opens for screen readers. Screenshots (1280×800 and
390×844) are kept under var/artifacts/dashboard/."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.analytics.models import (
    DailyCount,
    DailyPageCount,
    DailyVisitors,
    ListingSalesDay,
    PageSalesDay,
    SalesDay,
)
from storefront.analytics.selectors import period_get
from storefront.models import Fan, Listing, Order

from .a2_helpers import counts_make, fan_make, order_make, visitors_make
from .cms_helpers import article_make, card
from .journey_helpers import PHONE, artifacts_dir, chromium, static_from_finders  # noqa: F401
from .storefront_helpers import listed

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("catalog_media", "catalog_english")]

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
PASSWORD = "pw-dashboard-journey-12345"


@pytest.mark.usefixtures("static_from_finders")
def test_the_creator_reads_her_dashboard_in_chromium(shops, platform_server):
    port = urlsplit(platform_server).port
    shop = f"http://a.localhost:{port}"
    login = f"dash-owner-{uuid.uuid4().hex[:8]}"
    listing, item = listed(shops.a, price=8800, title="宝宝辅食碗")
    article = article_make(shops.a, [card(listing.pk)], slug=f"dash-{uuid.uuid4().hex[:8]}")
    fans: list[Fan] = []
    with tenant_context(shops.a):
        get_user_model().objects.create_superuser(login, password=PASSWORD)
        for n in range(6):
            fan = fan_make(f"粉丝{n}")
            fans.append(fan)
            for days_ago in range(n, 28, 5):  # orders on most days of the month
                order_make(fan=fan, total_fen=8800 * (1 + n % 2), days_ago=days_ago, item=item,
                           quantity=1 + n % 2)  # fmt: skip
        # A day has one visitors row: an earlier committed test's rows for these days go.
        DailyVisitors.objects.all().delete()
        # So do the days an earlier test's rollup stored: these orders are written paid in the
        # past, not marked paid (which marks a stored day changed), so a stored day would not
        # know them; a day without its row is read from the orders.
        for rolled in (SalesDay, PageSalesDay, ListingSalesDay):
            rolled.objects.all().delete()
        visitors_make({d: 300 + 17 * d for d in range(30)})
        counts_make(
            [
                (d, event, article.pk, 0, source, n)
                for d in range(30)
                for event, source, n in (
                    ("article_view", "", 200 + d),
                    ("card_tap", "", 40 + d),
                    ("checkout_start", "", 12),
                    ("order_paid", "", 2),
                    ("article_view", "share", 30),
                )
            ]
        )
        ours = Order.objects.filter(fan__in=fans, paid_at__isnull=False).count()
        # Committed tests before this one may have paid orders in shop A too: the figure is
        # every paid order of the shop's last 30 days, ours among them.
        period = period_get("30")
        paid = Order.objects.filter(
            status=Order.Status.PAID, paid_at__gte=period.start, paid_at__lt=period.end
        ).count()
        assert paid >= ours > 0
    connection.set_schema_to_public()
    shots = artifacts_dir("dashboard")
    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            page = browser.new_context(**DESKTOP).new_page()
            page.goto(f"{shop}/admin/login/?next=/admin/")
            page.fill('input[name="username"]', login)
            page.fill('input[name="password"]', PASSWORD)
            page.click('button[type="submit"]')
            expect(page).to_have_url(f"{shop}/admin/")
            panel = page.locator("#shop-dashboard-section")
            expect(panel.get_by_role("heading", name="Shop figures")).to_be_visible()
            # Drawn on the server: the charts are there without any script or CDN.
            for chart in ("GMV per day", "Orders per day", "From reading to paying"):
                svg = panel.get_by_role("img", name=chart)
                expect(svg).to_be_visible()
                box = svg.bounding_box()
                assert box and box["width"] > 300 and box["height"] > 60
            expect(panel.get_by_role("img", name="Top articles", exact=True)).to_be_visible()

            panel.get_by_role("link", name="30 days").click()
            expect(page).to_have_url(f"{shop}/admin/?period=30")
            expect(panel.get_by_role("link", name="30 days")).to_have_attribute(
                "aria-current", "page"
            )
            expect(panel.locator('[data-figure="orders"]')).to_have_text(str(paid))
            page.screenshot(path=shots / "dashboard-1280x800.png")

            funnel = panel.locator("figure", has=page.get_by_role("heading", name="From reading"))
            funnel.get_by_text("Show as a table").click()
            table = funnel.get_by_role("table")
            expect(table).to_be_visible()
            expect(table.get_by_role("row", name=re.compile("Orders paid"))).to_contain_text(
                str(paid)
            )

            phone = browser.new_context(**{**PHONE, "locale": "en-US"}).new_page()
            phone.goto(f"{shop}/admin/login/?next=/admin/%3Fperiod%3D30")
            phone.fill('input[name="username"]', login)
            phone.fill('input[name="password"]', PASSWORD)
            phone.click('button[type="submit"]')
            phone_panel = phone.locator("#shop-dashboard-section")
            expect(phone_panel.get_by_role("img", name="GMV per day")).to_be_visible()
            box = phone_panel.get_by_role("img", name="GMV per day").bounding_box()
            assert box and box["width"] <= 390  # fits the phone
            # Nothing in the dashboard makes the phone scroll sideways.
            assert phone_panel.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
            phone_panel.scroll_into_view_if_needed()
            phone.screenshot(path=shots / "dashboard-390x844.png", full_page=True)
        for name in ("dashboard-1280x800.png", "dashboard-390x844.png"):
            assert (shots / name).stat().st_size > 10_000
    finally:
        with tenant_context(shops.a):
            Order.objects.filter(fan__in=fans).delete()
            Fan.objects.filter(pk__in=[f.pk for f in fans]).delete()
            DailyCount.objects.filter(page_id=article.pk).delete()
            DailyPageCount.objects.filter(page_id=article.pk).delete()
            DailyVisitors.objects.all().delete()
            article.delete()
            Listing.objects.filter(pk=listing.pk).delete()
            get_user_model().objects.filter(username=login).delete()
        connection.set_schema_to_public()
