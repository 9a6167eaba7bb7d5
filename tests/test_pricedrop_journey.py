"""On phones: a fan shares her price drop link, a friend opens it in another browser, the price
drops by the step, and the friend buys at the lowered price. Chromium against a real HTTP
server; screenshots go to var/artifacts/pricedrop/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.models import Fan, Order
from storefront.pricedrop.models import DropPurchase, DropSharer, PriceDrop

from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    artifacts_dir,
    chromium,
    static_from_finders,
)
from .pricedrop_helpers import drop_make, pricedrop_redis_clean  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english", "pricedrop_redis_clean")

EMAIL = "journey-pricedrop@example.com"
FRIEND_MOBILE = "13712345678"
SLOW_MS = 30_000


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders")
def test_a_share_brings_a_friend_the_price_drops_and_she_buys_at_it(
    shops, platform_server, settings
):
    # Both phones reach the server from loopback: the "proxy" names their own addresses, as
    # nginx does in production, so the friend is not on the sharer's network.
    settings.VSTORE_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server  # the sandbox pay page is there
    campaign = drop_make(shops.a, title="转发降价 · 辅食碗")
    connection.set_schema_to_public()
    shop = f"http://a.localhost:{urlsplit(platform_server).port}"
    shots = artifacts_dir("pricedrop")
    mail.outbox.clear()

    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            her = browser.new_context(
                **PHONE, extra_http_headers={"X-Forwarded-For": "203.0.113.5"}
            ).new_page()
            her.set_default_timeout(SLOW_MS)
            her.goto(f"{shop}/drop/{campaign.pk}/")
            expect(her.locator("#pricedrop-price")).to_have_text("¥88.00")
            expect(her.locator(".vs-rules")).to_contain_text("start price − step × counted")
            her.screenshot(path=shots / "1-drop-page.png", full_page=True)

            # 我要分享: a code first, then back on the page with her own link.
            her.get_by_role("button", name="Get my share link").tap()
            expect(her).to_have_url(re.compile(r"/me/code/\?next="))
            her.locator('[name="contact"]').fill(EMAIL)
            her.get_by_role("button", name="Send me a code").tap()
            expect(her.locator('[name="code"]')).to_be_visible()  # the code was sent
            code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
            her.locator('[name="code"]').fill(code)
            her.get_by_role("button", name="Sign in").tap()
            expect(her).to_have_url(re.compile(rf"/drop/{campaign.pk}/"))
            link = her.locator("#pricedrop-link").input_value()
            assert re.search(rf"/drop/{campaign.pk}/s/[A-Za-z0-9]+/$", link)
            her.goto(link)  # her own visit never counts
            expect(her.locator("#pricedrop-counted")).to_have_text("0")
            her.screenshot(path=shots / "2-her-link.png", full_page=True)

            friend = browser.new_context(
                **PHONE, extra_http_headers={"X-Forwarded-For": "198.51.100.7"}
            ).new_page()
            friend.set_default_timeout(SLOW_MS)
            friend.goto(link)
            expect(friend).to_have_url(f"{shop}/drop/{campaign.pk}/")
            expect(friend.locator("#pricedrop-price")).to_have_text("¥83.00")
            expect(friend.locator("#pricedrop-counted")).to_have_text("1")
            assert friend.evaluate("document.documentElement.scrollWidth") <= 390
            friend.screenshot(path=shots / "3-friend-sees-the-drop.png", full_page=True)

            friend.get_by_role("button", name="Buy now at ¥83.00").tap()
            expect(friend).to_have_url(re.compile(r"/checkout/\?campaign=drop"))
            form = friend.locator("form.checkout-form")
            expect(friend.locator(".order-summary")).to_contain_text("¥83.00")
            form.locator('[name="contact"]').fill(FRIEND_MOBILE)
            form.locator('[name="recipient"]').fill("李小红")
            form.locator('[name="recipient_phone"]').fill(FRIEND_MOBILE)
            form.locator('[name="province"]').select_option("浙江")
            form.locator('[name="city"]').select_option("杭州市")
            form.locator('[name="district"]').select_option("西湖区")
            form.locator('[name="street"]').fill("文三路 100 号")
            friend.screenshot(path=shots / "4-checkout.png", full_page=True)
            friend.get_by_role("button", name="Place order and pay").tap()
            expect(friend).to_have_url(re.compile(r"/pay/sandbox/\w+/$"), timeout=SLOW_MS)
            friend.screenshot(path=shots / "5-pay.png", full_page=True)

        with tenant_context(shops.a):
            purchase = DropPurchase.objects.select_related("order").get(campaign_id=campaign.pk)
            line = purchase.order.lines.get()
            assert (purchase.unit_price_fen, line.retail_price_fen) == (8300, 8300)
            assert purchase.order.share_link_id is not None  # her link brought the order
    finally:
        # Committed rows (the server thread reads them) go again.
        with tenant_context(shops.a):
            orders = list(
                DropPurchase.objects.filter(campaign_id=campaign.pk).values_list(
                    "order_id", flat=True
                )
            )
            DropPurchase.objects.filter(campaign_id=campaign.pk).delete()
            Order.objects.filter(pk__in=orders).delete()
            DropSharer.objects.filter(campaign_id=campaign.pk).delete()
            PriceDrop.objects.filter(pk=campaign.pk).delete()
            Fan.objects.filter(email=EMAIL).delete()
            Fan.objects.filter(mobile=FRIEND_MOBILE).delete()
        connection.set_schema_to_public()
