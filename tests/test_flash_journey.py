"""A fan on a phone in a flash sale: the countdown, 立即抢购 the moment it opens, 抢到了, checkout
and paying with the sandbox. Chromium against a real HTTP server that serves config.wsgi's
stack (the lean /flash/ paths in front of Django) and a real Celery worker; screenshots go to
var/artifacts/flash/."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.fans.account import SESSION_FAN
from storefront.flash.gate import gate_load
from storefront.flash.models import FlashGrab, FlashSale
from storefront.models import Fan, Order

from .f2_helpers import edge_server, sale_make  # noqa: F401 (fixture)
from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    artifacts_dir,
    chromium,
    paid_rows_removed,
    static_from_finders,
)

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "小米手环 · 整点秒杀"
EMAIL = "flash-journey@example.com"
SLOW_MS = 30_000
PAID_TIMEOUT_MS = 120_000


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


def start_now(shop, sale_id: int) -> None:
    """Move SALE_ID's start to now, as a creator might, in another thread: Playwright's loop runs
    in the test's, and Django's ORM refuses to run beside it. The rows are committed."""

    def run() -> None:
        try:
            with tenant_context(shop):
                FlashSale.objects.filter(pk=sale_id).update(
                    starts_at=timezone.now() - timedelta(seconds=1), state="live"
                )
                gate_load(sale=FlashSale.objects.get(pk=sale_id), schema=shop.schema_name)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_fan_waits_for_the_countdown_grabs_one_and_pays(
    shops,
    edge_server,  # noqa: F811
    celery_worker,
    settings,
):
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = edge_server
    # Starts in 90 s: the page polls every second from 2 minutes before; the test then moves
    # the start to now, as a creator might, rather than waiting for it.
    sale = sale_make(shops.a, title=TITLE, quantity=3, starts_in=timedelta(seconds=90))
    with tenant_context(shops.a):
        fan = Fan.objects.create(email=EMAIL)
        session = SessionStore()
        session[SESSION_FAN] = fan.pk
        session.save()
    connection.set_schema_to_public()
    port = urlsplit(edge_server).port
    shop = f"http://a.localhost:{port}"
    shots = artifacts_dir("flash")
    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            context = browser.new_context(**PHONE)
            context.add_cookies(
                [
                    {
                        "name": django_settings.SESSION_COOKIE_NAME,
                        "value": session.session_key,
                        "url": shop,
                    }
                ]
            )
            page = context.new_page()
            page.set_default_timeout(SLOW_MS)

            # The sale page before the start: rules, the countdown, no 抢购 yet.
            page.goto(f"{shop}/flash/{sale.pk}/")
            expect(page.locator("h1")).to_have_text(TITLE)
            expect(page.locator(".flash-rules")).to_contain_text("at most 1 unit")
            expect(page.locator("#flash-countdown-label")).to_have_text("Starts in")
            expect(page.locator(".flash-countdown__left")).to_have_text(
                re.compile(r"00:0[01]:\d\d")
            )
            expect(page.get_by_role("button", name="Buy now")).to_be_hidden()
            no_sideways_scroll(page)
            page.screenshot(path=shots / "1-countdown.png", full_page=True)

            # The start (moved to now): the live status turns the page, 立即抢购 appears.
            start_now(shops.a, sale.pk)
            grab = page.get_by_role("button", name="Buy now")
            expect(grab).to_be_visible()
            assert grab.bounding_box()["height"] >= 44
            expect(page.locator("#flash-left")).to_contain_text("3 left")
            page.screenshot(path=shots / "2-open.png", full_page=True)

            # One tap: the answer at once, in the live region.
            grab.tap()
            result = page.locator("#flash-result")
            expect(result).to_contain_text("You got one! Pay within 15 minutes")
            expect(result).to_have_attribute("aria-live", "polite")
            page.screenshot(path=shots / "3-won.png", full_page=True)

            # The way to checkout, through the won page (sharing offered, not required).
            page.locator("#flash-won a").tap()
            expect(page).to_have_url(re.compile(rf"/flash/{sale.pk}/won/\?k=\w+$"))
            expect(page.locator(".flash-share")).to_be_visible()
            page.screenshot(path=shots / "4-won-page.png", full_page=True)
            page.get_by_role("link", name="Go to checkout").tap()
            expect(page).to_have_url(re.compile(r"/checkout/\?campaign=flash"))
            expect(page.locator(".order-summary")).to_contain_text("66.00")
            form = page.locator("form.checkout-form")
            form.locator('[name="recipient"]').fill("李妈妈")
            form.locator('[name="recipient_phone"]').fill("13812345678")
            form.locator('[name="province"]').select_option("浙江")
            form.locator('[name="city"]').select_option("杭州市")
            form.locator('[name="district"]').select_option("西湖区")
            form.locator('[name="street"]').fill("文三路 100 号 1 幢 101 室")
            no_sideways_scroll(page)
            page.screenshot(path=shots / "5-checkout.png", full_page=True)

            # Pay with the sandbox; the worker hears the notification and the order is paid.
            page.get_by_role("button", name="Place order and pay").tap()
            expect(page).to_have_url(re.compile(r"/pay/sandbox/\w+/$"))
            page.locator('button[value="pay"]').tap()
            expect(page.locator("h1")).to_have_text(
                "Thank you! Your order is paid.", timeout=PAID_TIMEOUT_MS
            )
            number = page.locator("dd.order-number").inner_text().strip()
            page.screenshot(path=shots / "6-paid.png", full_page=True)

        with tenant_context(shops.a):
            order = Order.objects.get(number=number)
            assert order.lines.get().retail_price_fen == 6600
            grab_row = FlashGrab.objects.get(sale_id=sale.pk)
            assert (grab_row.fan_id, grab_row.status, grab_row.order_number) == (
                fan.pk,
                "paid",
                number,
            )
    finally:
        connection.set_schema_to_public()
