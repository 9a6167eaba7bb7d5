"""A buyer's look around a shop on a phone, in Chromium against a real HTTP server: pictures load
(media served in development), the shop's menu is there, a product with several options asks
which one before buying, and a return shows where to send the parcel. Screenshots are kept
under var/screenshots/ for people to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from billing.fulfilment import services as fulfilment
from billing.fulfilment.models import FulfilmentEvent, ReturnCase, ReturnCaseLine, SupplierOrder
from billing.fulfilment.testing import payment_captured_sandbox
from catalog.models import Supplier
from storefront.orders.services import Want, order_mark_paid, order_place

from .journey_helpers import (  # noqa: F401 (pytest fixtures)
    PHONE,
    article_with_card,
    chromium,
    paid_rows_removed,
    screenshots_dir,
    static_from_finders,
)
from .storefront_helpers import BUYER, listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "婴儿连体衣 · 纯棉"
RETURN_ADDRESS = "浙江省杭州市余杭区文一西路 998 号 退货仓"


@pytest.mark.django_db
def test_the_card_of_a_product_with_options_links_to_the_picker(shops, shop_client):
    """What the journey taps (also sets up the test database when this file runs alone)."""
    listing, _item = listed(shops.a, price=6900, skus=2, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="options-card")
    with translation.override("en"):
        html = shop_client("a.localhost").get(f"/{article.slug}/", HTTP_ACCEPT_LANGUAGE="en").text
    connection.set_schema_to_public()
    assert f'href="/shop/p/{listing.pk}/#pp-options"' in html
    assert 'class="pc-buy"' not in html


def delivered_order_with_a_return(shop) -> tuple[str, ReturnCase]:
    listing, item = listed(shop, price=7900, title="退货演示 · 口水巾")
    Supplier.objects.filter(pk=listing.product.supplier_id).update(address=RETURN_ADDRESS)
    with tenant_context(shop):
        order = order_place(wants=[Want(item_id=item.pk, quantity=1)], buyer=BUYER)
        payment = payment_captured_sandbox(
            tenant=shop, amount=order.total_fen, order_number=order.number
        )
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        line = order.lines.get()
    connection.set_schema_to_public()
    so = SupplierOrder.objects.get(tenant=shop, order_number=order.number)
    so = fulfilment.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF5566778899"
    )
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=timezone.now() - timedelta(days=2))
    so.refresh_from_db()
    fulfilment.supplier_order_deliver(
        supplier_order=so, delivered_at=timezone.now() - timedelta(days=1)
    )
    [case] = fulfilment.returns_open(
        tenant=shop, order_number=order.number, items=[(line.pk, 1)], reason=""
    )
    return order.number, case


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_buyer_looks_around_a_shop_on_a_phone(shops, platform_server, settings):
    settings.DEBUG = True  # development: the server itself serves /media/
    listing, _item = listed(shops.a, price=6900, skus=2, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="journey-options")
    number, case = delivered_order_with_a_return(shops.a)
    port = urlsplit(platform_server).port
    shop = f"http://a.localhost:{port}"
    shots = screenshots_dir()
    taken: list[str] = []

    def shot(page, name: str) -> None:
        path = shots / f"shop-pages-{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        taken.append(path.name)

    def loaded(img) -> bool:
        """The picture arrived and decoded (waits for a lazy one to be fetched)."""
        img.scroll_into_view_if_needed()
        img.page.wait_for_function(
            "i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=30_000
        )
        return img.evaluate("i => i.naturalWidth") > 0

    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            page = browser.new_context(**PHONE).new_page()

            # The article: the card's picture loads, the shop's menu is at hand.
            page.goto(f"{shop}/{article.slug}/")
            card = page.locator(f'article.pc[data-listing="{listing.pk}"]')
            expect(card).to_be_visible()
            picture = card.locator("img.pc-img")
            expect(picture).to_have_attribute("src", re.compile(r"^/media/public/catalog/"))
            assert loaded(picture)
            nav = page.get_by_role("navigation", name="Shop menu")
            for name in ("Home", "Cart", "Me", "Find my order"):
                expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
            assert nav.bounding_box()["y"] > 700  # a tab bar at the bottom of the phone's screen
            shot(page, "article")

            # "Choose an option" on the card: the product page's picker, nothing pre-chosen.
            card.get_by_role("link", name=f"Choose an option: {TITLE}").tap()
            expect(page).to_have_url(f"{shop}/shop/p/{listing.pk}/#pp-options")
            gallery = page.locator(".pp-gallery img").first
            assert loaded(gallery)
            options = page.locator('#pp-options input[name="item"]')
            expect(options).to_have_count(2)
            assert not any(options.nth(i).is_checked() for i in range(2))
            shot(page, "product")

            # Picking one, then buying now, goes to checkout with that option.
            # The link opened the option sheet (a dialog over the page): pick and add from it.
            sheet = page.get_by_role("dialog", name="Choose an option")
            expect(sheet).to_be_visible()
            sheet.locator("label.pp-option").nth(1).tap()
            assert options.nth(1).is_checked()
            sheet.get_by_role("button", name="Add to cart").tap()
            expect(page).to_have_url(f"{shop}/cart/")
            cart_link = page.get_by_role("navigation", name="Shop menu").get_by_role(
                "link", name="Cart, 1 item"
            )
            expect(cart_link).to_have_attribute("aria-current", "page")
            shot(page, "cart")

            # The order with a return: the return address and the parcel's tracking number.
            page.goto(f"{shop}/orders/lookup/")
            page.locator('[name="number"]').fill(number)
            page.locator('[name="phone"]').fill(BUYER.recipient_phone)
            page.get_by_role("button", name="Find", exact=True).tap()
            expect(page).to_have_url(re.compile(rf"/orders/{number}/$"))
            address = page.locator(".return-address")
            expect(address).to_contain_text(RETURN_ADDRESS)
            carrier = page.get_by_label("Carrier")
            box = carrier.bounding_box()
            assert box["width"] > 300 and box["height"] >= 44  # full width, a thumb's height
            assert carrier.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
            shot(page, "return")
            carrier.fill("中通快递")
            page.get_by_role("textbox", name="Tracking number").fill("ZT1234567890")
            page.get_by_role("button", name="I have sent it: save the tracking number").tap()
            expect(page.locator(".return-parcel").first).to_contain_text("ZT1234567890")
            shot(page, "return-sent")
        case.refresh_from_db()
        assert (case.return_carrier, case.return_tracking_number) == ("中通快递", "ZT1234567890")
    finally:
        # paid_rows_removed clears the supplier orders; their returns go first.
        FulfilmentEvent.objects.filter(return_case__order_number=number).delete()
        ReturnCaseLine.objects.filter(case__order_number=number).delete()
        ReturnCase.objects.filter(order_number=number).delete()

    assert taken == [
        "shop-pages-01-article.png",
        "shop-pages-02-product.png",
        "shop-pages-03-cart.png",
        "shop-pages-04-return.png",
        "shop-pages-05-return-sent.png",
    ]
    assert all((shots / name).stat().st_size > 0 for name in taken)


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders")
def test_the_sign_up_theme_choice_lines_up_on_a_phone(platform_server):
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.goto(f"{platform_server}/signup/")
        choices = page.locator("label.theme-choice")
        assert choices.count() >= 2
        for i in range(choices.count()):
            label = choices.nth(i)
            radio = label.locator("input[type=radio]")
            name = label.locator("span")
            radio_box, name_box, label_box = (
                radio.bounding_box(),
                name.bounding_box(),
                label.bounding_box(),
            )
            # The radio button is a button, not a full-width bar, and its name sits beside it
            # on the same line; the whole label is a thumb-sized target.
            assert radio_box["width"] < 40
            assert name_box["x"] > radio_box["x"] + radio_box["width"] - 1
            middle = [b["y"] + b["height"] / 2 for b in (name_box, radio_box)]
            assert abs(middle[0] - middle[1]) < 8
            assert label_box["height"] >= 44
        page.screenshot(path=screenshots_dir() / "shop-pages-signup.png", full_page=True)
