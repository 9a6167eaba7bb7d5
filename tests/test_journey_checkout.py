"""Checkout and the order page on a phone, in Chromium against a real HTTP server and a real
Celery worker: the 省/市/区 picker, the delivery fee before paying, backing out of the pay page,
paying, and the order page following the parcel. Screenshots go to var/screenshots/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import supplier_order_ship
from storefront.models import Order

from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    article_with_card,
    chromium,
    paid_rows_removed,
    screenshots_dir,
    static_from_finders,
)
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "宝宝辅食碗 · 吸盘防摔"
MOBILE = "13812345678"
PAID_TIMEOUT_MS = 120_000
# One request on a machine shared with other suites can take longer than Playwright's 5 s.
SLOW_MS = 30_000


def field_metrics(page, selector: str) -> dict:
    return page.evaluate(
        """(sel) => {
            const el = document.querySelector(sel), r = el.getBoundingClientRect();
            const font = parseFloat(getComputedStyle(el).fontSize);
            const box = el.parentElement.getBoundingClientRect().width;
            return {font: font, width: r.width, height: r.height, box: box};
        }""",
        selector,
    )


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_buyer_picks_her_address_sees_the_delivery_fee_and_follows_the_order(
    shops, platform_server, celery_worker, settings
):
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server
    # The test supplier charges 20 yuan for the first kg to Xinjiang; the bowl weighs 500 g.
    listing, _item = listed(shops.a, price=8800, stock=3, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="checkout-journey")
    connection.set_schema_to_public()
    shop = f"http://a.localhost:{urlsplit(platform_server).port}"
    shots = screenshots_dir()

    with chromium() as browser:
        from playwright.sync_api import expect

        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        page.goto(f"{shop}/{article.slug}/")
        page.get_by_role("button", name=f"Buy now: {TITLE}").tap()
        expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"))

        form = page.locator("form.checkout-form")
        total = page.locator(".checkout-total")
        expect(total).to_contain_text("Choose your province")
        # No-JavaScript fallback button is hidden when the script runs.
        expect(form.locator("button.update-quote")).to_be_hidden()
        form.locator('[name="recipient"]').fill("阿依古丽")
        form.locator('[name="recipient_phone"]').fill(MOBILE)
        form.locator('[name="province"]').select_option("新疆")
        # The fee and the total are there as soon as the province is chosen, before paying.
        expect(total).to_contain_text("¥108.00")
        expect(total).to_contain_text("¥20.00")
        expect(page.locator('.order-summary [data-quote="shipping"]')).to_have_text("¥20.00")
        city = form.locator('[name="city"]')
        expect(city.locator('option[value="乌鲁木齐市"]')).to_have_count(1)
        expect(city.locator('option[value="杭州市"]')).to_have_count(0)
        city.select_option("乌鲁木齐市")
        district = form.locator('[name="district"]')
        expect(district.locator('option[value="天山区"]')).to_have_count(1)
        district.select_option("天山区")
        form.locator('[name="street"]').fill("人民路 1 号")

        # Phone-sized form: 16px type (iOS zooms into smaller), fields as wide as their box
        # (most of the screen), tap targets 44px high.
        for selector in ('[name="recipient"]', '[name="province"]', '[name="district"]'):
            metrics = field_metrics(page, f"form.checkout-form {selector}")
            assert metrics["font"] >= 16
            assert metrics["width"] >= metrics["box"] - 1 and metrics["width"] >= 300
            assert metrics["height"] >= 44
        submit = field_metrics(page, "form.checkout-form button.primary")
        assert submit["height"] >= 44 and submit["width"] >= submit["box"] - 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "checkout.png", full_page=True)

        # The pay page names the order by its number and asks the same total.
        page.get_by_role("button", name="Place order and pay").tap()
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(platform_server)}/pay/sandbox/\w+/$"), timeout=SLOW_MS
        )
        expect(page.locator(".sandbox-amount")).to_contain_text("¥108.00")
        description = page.locator(".sandbox-description").inner_text()
        number = re.search(r"Order (\w{16})", description).group(1)

        # Backing out of the pay page: the order waits, unpaid, with both choices.
        page.get_by_role("button", name="Back to the shop without paying").tap()
        expect(page).to_have_url(re.compile(rf"/orders/{number}/\?paying=1$"), timeout=SLOW_MS)
        expect(page.locator("h1")).to_have_text("Waiting for your payment")
        expect(page.get_by_role("button", name="Cancel order")).to_be_visible()
        page.screenshot(path=shots / "order-unpaid.png", full_page=True)

        page.get_by_role("button", name="Pay now").tap()
        expect(page).to_have_url(re.compile(r"/pay/sandbox/\w+/$"), timeout=SLOW_MS)
        page.locator('button[value="pay"]').tap()
        expect(page.locator("h1")).to_have_text(
            "Thank you! Your order is paid.", timeout=PAID_TIMEOUT_MS
        )
        expect(page.locator("dd.order-number")).to_have_text(number)
        expect(page.locator(".order-delivery-fee")).to_have_text("¥20.00")
        expect(page.locator(".order-total")).to_have_text("¥108.00")
        expect(page.locator(".line-state")).to_have_text("Awaiting shipment")
        expect(page.get_by_role("button", name="Pay now")).to_have_count(0)
        page.screenshot(path=shots / "order-paid.png", full_page=True)
        state = phone.storage_state()

    # The supplier ships (the ORM is used outside Playwright's event loop).
    so = SupplierOrder.objects.get(order_number=number)
    supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="中通快递", tracking_number="ZT7788990011"
    )

    with chromium() as browser:
        from playwright.sync_api import expect

        page = browser.new_context(**PHONE, storage_state=state).new_page()
        page.goto(f"{shop}/orders/{number}/")
        expect(page.locator("h1")).to_have_text("Your order is on its way")
        expect(page.locator(".order-state")).to_have_text("Shipped")
        expect(page.locator(".line-state")).to_contain_text("中通快递 ZT7788990011")
        expect(page.locator("#shipments-h")).to_have_text("Shipments")
        expect(page.locator(".shipments")).to_contain_text("ZT7788990011")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "order-shipped.png", full_page=True)

    with tenant_context(shops.a):
        order = Order.objects.get(number=number)
        assert (order.province, order.city, order.district) == ("新疆", "乌鲁木齐市", "天山区")
        assert (order.contact_mobile, order.recipient_phone) == (MOBILE, MOBILE)
        assert (order.shipping_fen, order.total_fen) == (2000, 10800)
