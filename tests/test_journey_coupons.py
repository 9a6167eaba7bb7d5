"""A fan on a phone claims a coupon from its link, signs in with a code on the way, finds it at
我的 and sees it take its amount off at checkout before paying. Chromium against a real HTTP
server; screenshots go to var/artifacts/coupons/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.coupons.models import Coupon, CouponClaim

from .c4_helpers import coupon_make
from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    artifacts_dir,
    chromium,
    static_from_finders,
)
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "宝宝辅食碗 · 领券专享"
EMAIL = "journey-coupon@example.com"
# One request on a machine shared with other suites can take longer than Playwright's 5 s.
SLOW_MS = 30_000


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders")
def test_a_fan_claims_a_coupon_sees_it_at_me_and_saves_at_checkout(shops, platform_server):
    listing, _item = listed(shops.a, price=8800, stock=5, title=TITLE)
    coupon = coupon_make(shops.a, name="新人立减 10 元", amount_fen=1000, total_limit=50)
    connection.set_schema_to_public()
    shop = f"http://a.localhost:{urlsplit(platform_server).port}"
    shots = artifacts_dir("coupons")
    mail.outbox.clear()

    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            page = browser.new_context(**PHONE).new_page()
            page.set_default_timeout(SLOW_MS)

            # The coupon's link: what it takes off, its rules, a QR code to pass on.
            page.goto(f"{shop}/c/{coupon.code}/")
            ticket = page.locator(".coupon-page .coupon-ticket")
            expect(ticket.locator(".coupon-off")).to_have_text("¥10.00")
            expect(ticket).to_contain_text("新人立减 10 元")
            expect(ticket).to_contain_text("One per person")
            expect(page.locator(".coupon-qr svg")).to_be_visible()
            no_sideways_scroll(page)
            page.screenshot(path=shots / "1-coupon-link.png", full_page=True)

            # 领取 while signed out: a code first, then back to the coupon, claimed.
            claim = page.get_by_role("button", name="Claim")
            assert claim.bounding_box()["height"] >= 44
            claim.tap()
            expect(page).to_have_url(re.compile(r"/me/code/\?next="))
            page.locator('[name="contact"]').fill(EMAIL)
            page.get_by_role("button", name="Send me a code").tap()
            expect(page).to_have_url(re.compile(r"/me/verify/$"))
            code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
            page.locator('[name="code"]').fill(code)
            page.get_by_role("button", name="Sign in").tap()
            expect(page).to_have_url(f"{shop}/c/{coupon.code}/")
            expect(page.locator(".messages")).to_contain_text("Claimed!")
            expect(page.locator(".coupon-mine")).to_contain_text("You have this coupon")
            page.screenshot(path=shots / "2-claimed.png", full_page=True)

            # 我的, from the shop's navigation: the coupon is in her wallet, ready to use.
            page.locator(".shop-nav").get_by_role("link", name="Me", exact=True).tap()
            expect(page).to_have_url(f"{shop}/me/")
            wallet = page.locator(".account-coupons")
            expect(wallet.locator(".coupon-name")).to_have_text("新人立减 10 元")
            expect(wallet.locator(".coupon-state")).to_have_text("Ready to use")
            expect(wallet.get_by_role("link", name="Use it")).to_be_visible()
            no_sideways_scroll(page)
            page.screenshot(path=shots / "3-me.png", full_page=True)

            # The product page, then checkout: the coupon is chosen and its saving shown.
            page.goto(f"{shop}/shop/p/{listing.pk}/")
            expect(page.locator(".coupon-strip")).to_contain_text("¥10.00")
            page.get_by_role("button", name="Buy now").tap()
            expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"))
            saving = page.locator(".order-summary .coupon-saving")
            expect(saving).to_be_visible()
            expect(saving).to_contain_text("¥10.00")
            expect(page.locator(".coupon-picker")).to_contain_text("新人立减 10 元")
            no_sideways_scroll(page)
            page.screenshot(path=shots / "4-checkout.png", full_page=True)

        with tenant_context(shops.a):
            claim = CouponClaim.objects.select_related("fan").get(coupon_id=coupon.pk)
            assert (claim.fan.email, claim.source, claim.state) == (EMAIL, "link", "available")
    finally:
        # Committed rows (the server thread reads them): the claim and the coupon go again.
        with tenant_context(shops.a):
            CouponClaim.objects.filter(coupon_id=coupon.pk).delete()
            Coupon.objects.filter(pk=coupon.pk).delete()
        connection.set_schema_to_public()
