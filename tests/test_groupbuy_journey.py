"""A buyer on a phone joins a tiered group buy: she reads the rules, joins at ¥100, checks out,
pays; a friend joins and the tier drops to ¥80; at the deadline she sees the final price and
her ¥20 refund. Chromium against a real HTTP server; screenshots in var/artifacts/groupbuy/.

The ORM runs in a helper thread while the browser is open (Playwright's loop and Django's ORM
do not share a thread).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.groupbuy.services import groupbuy_close
from storefront.models import Order

from .groupbuy_helpers import deadline_passes, joined_paid, pay, tiered
from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    artifacts_dir,
    chromium,
    paid_rows_removed,
    static_from_finders,
)

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

SLOW_MS = 30_000
MOBILE = "13700555000"


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_buyer_joins_sees_the_tier_drop_and_her_refund_on_a_phone(
    shops, platform_server, settings
):
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server  # the sandbox pay page is there
    campaign, _item = tiered(shops.a, tiers=[[1, 10000], [2, 8000]], min_buyers=1)
    shop = f"http://a.localhost:{urlsplit(platform_server).port}"
    shots = artifacts_dir("groupbuy")
    steps: list[str] = []

    def shot(page, name: str) -> None:
        page.screenshot(path=shots / f"{len(steps) + 1:02d}-{name}.png", full_page=True)
        steps.append(name)

    def orm(work):
        """WORK in another thread: Playwright's loop runs in this one, and Django's ORM refuses
        to run beside it. The rows are committed, so the thread sees them."""

        def run():
            try:
                return work()
            finally:
                connection.close()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(run).result()

    def her_payment_and_a_friend() -> Order:
        with tenant_context(shops.a):
            order = Order.objects.get(group_member__campaign=campaign)
        connection.set_schema_to_public()
        pay(shops.a, order)  # as the provider's notification books it
        joined_paid(shops.a, campaign, 1)
        return order

    def deadline_and_close() -> None:
        deadline_passes(shops.a, campaign)
        with tenant_context(shops.a):
            groupbuy_close(campaign_id=campaign.pk)
        connection.set_schema_to_public()

    with chromium() as browser:
        from playwright.sync_api import expect

        page = browser.new_context(**PHONE).new_page()
        page.set_default_timeout(SLOW_MS)
        page.goto(f"{shop}/groupbuy/{campaign.pk}/")
        expect(page.locator(".groupbuy-rules")).to_contain_text("¥80.00 from 2 buyers")
        expect(page.locator(".groupbuy-live")).to_contain_text("0 joined")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "rules")

        page.get_by_role("button", name="Join at ¥100.00").tap()
        expect(page).to_have_url(re.compile(r"/checkout/\?campaign=group"))
        form = page.locator("form.checkout-form")
        if form.locator('[name="contact"]').count():
            form.locator('[name="contact"]').fill(MOBILE)
        form.locator('[name="recipient"]').fill("李妈妈")
        form.locator('[name="recipient_phone"]').fill(MOBILE)
        form.locator('[name="province"]').select_option("浙江")
        form.locator('[name="city"]').select_option("杭州市")
        form.locator('[name="district"]').select_option("西湖区")
        form.locator('[name="street"]').fill("文三路 100 号 1 幢 101 室")
        expect(page.locator("body")).to_contain_text("¥100.00")
        shot(page, "checkout")
        page.get_by_role("button", name="Place order and pay").tap()
        expect(page).to_have_url(re.compile(r"/pay/sandbox/\w+/$"))
        shot(page, "pay")

        order = orm(her_payment_and_a_friend)
        page.goto(f"{shop}/groupbuy/{campaign.pk}/")
        expect(page.locator(".groupbuy-live").first).to_contain_text("2 joined")
        expect(page.locator(".groupbuy-tiers [aria-current=step]")).to_contain_text("¥80.00")
        expect(page.locator(".groupbuy-order")).to_contain_text("You paid")
        shot(page, "tier-dropped")

        orm(deadline_and_close)
        page.goto(f"{shop}/groupbuy/{campaign.pk}/")
        panel = page.locator(".groupbuy-order")
        expect(panel.locator(".groupbuy-final")).to_contain_text("¥80.00")
        expect(panel.locator(".groupbuy-refund")).to_contain_text("¥20.00")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "refunded")
        page.goto(f"{shop}/orders/{order.number}/")
        expect(page.locator("h1")).to_be_visible()
        shot(page, "order")
