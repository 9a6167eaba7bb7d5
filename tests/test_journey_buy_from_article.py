"""A follower buys from an article on a phone: Chromium against a real HTTP server (platform and
shop hosts) and a real Celery worker; screenshots of every step are kept as artifacts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import translation
from django_tenants.utils import tenant_context

from billing.models import Payment
from catalog.models import SKU
from storefront.models import Order

from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    article_with_card,
    artifacts_dir,
    chromium,
    paid_rows_removed,
    static_from_finders,
)
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "宝宝辅食碗 · 吸盘防摔"
MOBILE = "13812345678"
# The worker's round trip (pay page → notification → capture hook → order task) on a busy machine.
PAID_TIMEOUT_MS = 120_000


@pytest.mark.django_db
def test_the_article_card_buys_now_with_one_tap(shops, shop_client):
    """The card's form is what the journey taps (also sets up the test database when this
    file runs alone: committed_db alone does not make pytest-django create it)."""
    listing, item = listed(shops.a, price=8800, stock=3, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="card-form")
    with translation.override("en"):
        html = shop_client("a.localhost").get(f"/{article.slug}/", HTTP_ACCEPT_LANGUAGE="en").text
    connection.set_schema_to_public()
    form = re.search(
        r'<form class="pc-buy" method="post" action="/cart/add/">(.*?)</form>', html, re.S
    )
    assert form is not None
    assert f'name="item" value="{item.pk}"' in form.group(1)
    assert f"Buy now: {TITLE}" in form.group(1)


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_follower_buys_from_an_article_on_a_phone_and_finds_the_order_again(
    shops, platform_server, celery_worker, settings
):
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server
    listing, item = listed(shops.a, price=8800, stock=3, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="journey-bowl")
    connection.set_schema_to_public()
    port = urlsplit(platform_server).port
    shop = f"http://a.localhost:{port}"
    shots = artifacts_dir("journey")
    print(f"\nscreenshots: {shots}")
    steps: list[str] = []

    def shot(page, name: str) -> None:
        page.screenshot(path=shots / f"{len(steps) + 1:02d}-{name}.png", full_page=True)
        steps.append(name)

    with chromium() as browser:
        from playwright.sync_api import expect

        phone = browser.new_context(**PHONE)
        page = phone.new_page()

        # 1. The article, on a phone: the card with its price and a "Buy now" button.
        page.goto(f"{shop}/{article.slug}/")
        card = page.locator(f'article.pc[data-listing="{listing.pk}"]')
        expect(card).to_be_visible()
        expect(card.locator(".pc-title")).to_have_text(TITLE)
        expect(card.locator(".pc-price")).to_contain_text("88.00")
        # Nothing wider than the screen (no sideways scrolling on a phone).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "article")

        # Tap one: the card's "Buy now" goes straight to checkout.
        card.get_by_role("button", name=f"Buy now: {TITLE}").tap()
        expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"))
        expect(page.locator(".order-summary")).to_contain_text(TITLE)
        form = page.locator("form.checkout-form")
        form.locator('[name="recipient"]').fill("李妈妈")
        form.locator('[name="recipient_phone"]').fill(MOBILE)
        form.locator('[name="province"]').select_option("浙江")
        form.locator('[name="city"]').select_option("杭州市")
        form.locator('[name="district"]').select_option("西湖区")
        form.locator('[name="street"]').fill("文三路 100 号 1 幢 101 室")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "checkout")

        # Tap two: the order is placed and the buyer is on the provider's pay page.
        page.get_by_role("button", name="Place order and pay").tap()
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(platform_server)}/pay/sandbox/\w+/$"), timeout=30_000
        )
        expect(page.locator(".sandbox-amount")).to_contain_text("¥")
        shot(page, "pay")

        # Tap three: pay. The worker notifies the server, the order is marked paid, and the
        # order page (refreshing itself every 3 s) says so with a share link.
        page.locator('button[value="pay"]').tap()
        expect(page).to_have_url(re.compile(rf"^{re.escape(shop)}/orders/\w+/\?paying=1$"))
        shot(page, "paying")
        expect(page.locator("h1")).to_have_text(
            "Thank you! Your order is paid.", timeout=PAID_TIMEOUT_MS
        )
        share = page.locator("input.share-url")
        expect(share).to_have_count(1)
        expect(share).to_have_value(re.compile(rf"^{re.escape(shop)}/s/\w+/$"))
        number = page.locator("dd.order-number").inner_text().strip()
        shot(page, "paid")

        # Later, another browser (no session): find the order by number + phone.
        other = browser.new_context(**PHONE).new_page()
        other.goto(f"{shop}/orders/lookup/")
        other.locator('[name="number"]').fill(number)
        other.locator('[name="phone"]').fill(MOBILE)
        shot(other, "lookup")
        other.get_by_role("button", name="Find", exact=True).tap()
        expect(other).to_have_url(re.compile(rf"/orders/{number}/$"))
        expect(other.locator("h1")).to_have_text("Thank you! Your order is paid.")
        expect(other.locator("dd.order-number")).to_have_text(number)
        expect(other.locator(".order-lines")).to_contain_text(TITLE)
        shot(other, "found")

    assert steps == ["article", "checkout", "pay", "paying", "paid", "lookup", "found"]
    assert all((shots / f"{i:02d}-{s}.png").stat().st_size > 0 for i, s in enumerate(steps, 1))
    with tenant_context(shops.a):
        order = Order.objects.get(number=number)
        assert order.status == Order.Status.PAID
        assert (order.recipient, order.province, order.city) == ("李妈妈", "浙江", "杭州市")
        assert order.total_fen >= 8800
    connection.set_schema_to_public()
    payment = Payment.objects.get(tenant=shops.a, order_number=number)
    assert payment.status == Payment.Status.CAPTURED
    assert SKU.objects.get(pk=item.sku_id).stock == 2
