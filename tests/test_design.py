"""The buyer's phone shop, designed (issue 19): themes readable, pages that never scroll sideways
nor offer a control too small for a thumb, the bottom sheet usable by keyboard and screen
reader, the product page honest about delivery and discreet about stock, the order's timeline,
and a fan's own addresses at checkout. Screenshots of every page at 390×844 and 1280×800 are
kept under var/artifacts/design/."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU, ShippingRule, Supplier
from cms.themes import THEMES
from storefront.models import Fan, Order

from .design_helpers import LAYOUT_PROBLEMS_JS, contrast
from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    article_with_card,
    artifacts_dir,
    chromium,
    paid_rows_removed,
    static_from_finders,
)
from .storefront_helpers import listed, paid_order, ship_and_deliver

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

MUTED = "#555555"  # buyer.css --vs-muted: help texts and secondary lines
WHITE = "#ffffff"  # cards and sheets
PAGE = "#f5f5f5"  # buyer.css --vs-page: the page around the cards (links on it use the accent)


@pytest.mark.parametrize("key", sorted(THEMES))
def test_every_theme_reads_at_4_5_to_1(key):
    """WCAG AA for normal text, from the tokens the pages are styled with: white on the accent
    (primary buttons, badges), the accent on every background it is used on (prices, links),
    body and muted text on the page, the cards and the tinted surface."""
    theme = THEMES[key]
    pairs = {
        "white on accent": (WHITE, theme.accent),
        **{f"accent on {n}": (theme.accent, bg) for n, bg in _backgrounds(theme)},
        **{f"ink on {n}": (theme.ink, bg) for n, bg in _backgrounds(theme)},
        **{f"muted on {n}": (MUTED, bg) for n, bg in _backgrounds(theme)},
    }
    low = {name: round(contrast(*pair), 2) for name, pair in pairs.items() if contrast(*pair) < 4.5}
    assert not low, f"{key}: {low}"


def _backgrounds(theme):
    return [
        ("white", WHITE),
        ("page", PAGE),
        ("background", theme.background),
        ("surface", theme.surface),
    ]


@pytest.mark.django_db
def test_the_product_page_names_delivery_by_province_and_hides_the_exact_low_stock(
    shops, shop_client
):
    listing, item = listed(shops.a, price=6900, stock=3, title="辅食碗")
    product = listing.product
    supplier = Supplier.objects.get(pk=product.supplier_id)
    Supplier.objects.filter(pk=supplier.pk).update(address="浙江省杭州市余杭区文一西路 998 号")
    template = product.shipping_template
    template.rules.all().delete()
    ShippingRule.objects.create(template=template, regions=["新疆", "西藏"], first_kg_fee_fen=2000)
    ShippingRule.objects.create(template=template, regions=["浙江"], first_kg_fee_fen=0)
    template.default_fee_fen = 800
    template.free_over_fen = 9900
    template.save()
    from .cms_helpers import get

    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text
    delivery = re.search(r'<details class="pp-delivery">(.*?)</details>', html, re.S).group(1)
    assert "Free to some provinces, elsewhere from ¥8.00" in delivery  # not "from ¥0.00"
    assert "free over ¥99.00" in delivery
    assert "Ships from 浙江 杭州" in delivery and "文一西路" not in html  # never the street
    rows = re.findall(r"<li><span>(.*?)</span> <span>(.*?)</span></li>", delivery)
    assert rows == [
        ("浙江", "Free delivery"),
        ("西藏", "¥20.00"),  # equal fees in the usual order of provinces
        ("新疆", "¥20.00"),
        ("Elsewhere", "¥8.00"),
    ]
    # 3 left: "only a few", never the count a rival or a bot would read.
    head = re.search(r'<section class="vs-card pp-head">(.*?)</section>', html, re.S).group(1)
    assert "Only a few left" in head and "3 in stock" not in html
    SKU.objects.filter(pk=item.sku_id).update(stock=50)
    with tenant_context(shops.a):
        from core.shop_cache import bump

        bump()
    connection.set_schema_to_public()
    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text
    assert "In stock" in html and "50 in stock" not in html


@pytest.mark.django_db
def test_checkout_offers_only_the_signed_in_fans_own_addresses(shops, shop_client):
    """Her past addresses become cards; another fan's never show, and "use" without JavaScript
    fills the form with the one she picked."""
    _listing, item = listed(shops.a, price=8800, stock=20)
    with tenant_context(shops.a):
        her = Fan.objects.create(mobile="13911112222")
        other = Fan.objects.create(mobile="13933334444")
        base = {
            "number": "",
            "recipient_phone": "13911112222",
            "province": "浙江",
            "city": "杭州市",
            "district": "西湖区",
            "goods_fen": 100,
            "shipping_fen": 0,
            "total_fen": 100,
            "pay_deadline": timezone.now() + timedelta(minutes=30),
        }
        for n, (fan, who, street) in enumerate(
            [
                (her, "林小雨", "文三路 1 号"),
                (her, "林小雨", "文三路 1 号"),  # the same address twice shows once
                (her, "林妈妈", "教工路 8 号"),
                (other, "陌生人", "别人家 99 号"),
            ]
        ):
            Order.objects.create(
                **{**base, "number": f"DESIGNADDR{n:06d}"}, fan=fan, recipient=who, street=street
            )
    client = shop_client("a.localhost")
    with tenant_context(shops.a):
        session = client.session
        session["storefront_fan"] = her.pk
        session.save()
    connection.set_schema_to_public()
    added = client.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    assert added.status_code == 302
    page = client.get("/checkout/?now=1", HTTP_ACCEPT_LANGUAGE="en").text
    cards = re.findall(r'<label class="vs-address"><input type="radio" name="use_address"', page)
    assert len(cards) == 2
    assert "林小雨" in page and "教工路 8 号" in page and "别人家" not in page
    # Without JavaScript: pick a card and press "use" (newest first: 林妈妈's is the first).
    used = client.post(
        "/checkout/?now=1", {"update": "1", "use_address": "0"}, HTTP_ACCEPT_LANGUAGE="en"
    ).text
    assert re.search(r'name="street"[^>]*value="教工路 8 号"', used)
    assert re.search(r'name="recipient"[^>]*value="林妈妈"', used)
    # A forged index is ignored, never an error.
    forged = client.post(
        "/checkout/?now=1", {"update": "1", "use_address": "99"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert forged.status_code == 200
    connection.set_schema_to_public()


PAGES = ("home", "article", "product", "checkout", "order", "me")


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_buyer_pages_fit_phone_and_desktop_with_thumb_sized_controls(
    shops, shop_client, platform_server, settings
):
    """Every page at 390×844 and 1280×800: no sideways scrolling, no visible control under
    44 px, a screenshot kept. On the way, the product page's bottom sheet: opened from the bar,
    a dialog holding focus, closed by Esc with focus back on the button, and buying through it
    reaches checkout; the order page shows its timeline and copies the tracking number."""
    settings.DEBUG = True  # the server serves /media/ itself
    listing, _item = listed(shops.a, price=6900, skus=2, stock=30, title="婴儿连体衣 · 纯棉")
    article = article_with_card(shops.a, listing_id=listing.pk, slug="design-cards")
    buyer, order, _line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    with tenant_context(shops.a):
        fan_id = Order.objects.get(number=order.number).fan_id
        session = buyer.session
        session["storefront_fan"] = fan_id
        session.save()
        cookie = buyer.cookies[django_settings.SESSION_COOKIE_NAME].value
    connection.set_schema_to_public()
    port = urlsplit(platform_server).port
    shop = f"http://a.localhost:{port}"
    out = artifacts_dir("design")
    problems: dict[str, list[str]] = {}

    with chromium() as browser:
        from playwright.sync_api import expect

        for size in ((390, 844), (1280, 800)):
            phone = size[0] < 500
            options = dict(PHONE) if phone else {"locale": "en-US"}
            options["viewport"] = {"width": size[0], "height": size[1]}
            context = browser.new_context(**options)
            context.add_cookies(
                [
                    {
                        "name": django_settings.SESSION_COOKIE_NAME,
                        "value": cookie,
                        "domain": "a.localhost",
                        "path": "/",
                    }
                ]
            )
            page = context.new_page()

            def check(name: str, page=page, size=size) -> None:
                page.wait_for_load_state("load")
                page.screenshot(path=out / f"{name}-{size[0]}x{size[1]}.png", full_page=True)
                found = page.evaluate(LAYOUT_PROBLEMS_JS)
                if found:
                    problems[f"{name} {size[0]}x{size[1]}"] = found

            page.goto(f"{shop}/")
            check("home")
            page.goto(f"{shop}/{article.slug}/")
            check("article")
            page.goto(f"{shop}/shop/p/{listing.pk}/")
            check("product")
            if phone:
                bar = page.locator(".pp-bar")
                buy = bar.get_by_role("button", name="Buy now")
                buy.tap()
                sheet = page.get_by_role("dialog", name="Choose an option")
                expect(sheet).to_be_visible()
                assert page.evaluate(
                    "document.querySelector('#pp-sheet').contains(document.activeElement)"
                )
                for _ in range(6):  # Tab never leaves the sheet
                    page.keyboard.press("Tab")
                    assert page.evaluate(
                        "document.querySelector('#pp-sheet').contains(document.activeElement)"
                    )
                page.keyboard.press("Escape")
                expect(sheet).to_be_hidden()
                assert page.evaluate("document.activeElement.textContent.trim()") == "Buy now"
                buy.tap()
                sheet.locator("label.pp-option").nth(1).tap()
                sheet.get_by_role("button", name="Buy now").tap()
                expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"))
            else:
                page.locator(".pp-bar").get_by_role("button", name="Buy now").click()
                page.locator("#pp-sheet label.pp-option").nth(0).click()
                page.locator("#pp-sheet").get_by_role("button", name="Buy now").click()
                expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"))
            # Her address from the paid order is a card, chosen already.
            expect(page.locator(".checkout-address .vs-address")).to_have_count(1)
            check("checkout")
            page.goto(f"{shop}/orders/{order.number}/")
            timeline = page.get_by_role("list", name="Order progress")
            expect(timeline.locator("li")).to_have_count(5)
            expect(timeline.locator('[aria-current="step"]')).to_have_text(re.compile("^Delivered"))
            expect(
                page.get_by_role("button", name="Copy tracking number SF1234567890")
            ).to_be_visible()
            check("order")
            page.goto(f"{shop}/me/")
            expect(page.get_by_role("heading", name=re.compile("^Me"))).to_be_visible()
            check("me")
            context.close()

    assert not problems, problems
    shots = sorted(p.name for p in out.glob("*.png"))
    assert len(shots) == len(PAGES) * 2, shots
