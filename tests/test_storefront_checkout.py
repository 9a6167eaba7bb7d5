"""The buyer's pages on a shop host: cart, checkout, order page, lookup, sign-in code, share."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from billing.models import Payment
from catalog.models import SKU
from storefront.models import Order, ShareLink
from storefront.orders.services import order_mark_paid

from .payments_helpers import post_notification
from .storefront_helpers import ADDRESS, buy_now, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def only_order(shop, item) -> Order:
    with tenant_context(shop):
        order = Order.objects.get(lines__item=item)
    connection.set_schema_to_public()
    return order


def test_buy_now_places_an_order_and_sends_the_buyer_to_pay(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")

    answer = buy_now(buyer, item, quantity=2)

    order = only_order(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert answer.status_code == 302 and answer["Location"] == payment.checkout_url
    assert (order.total_fen, order.contact_mobile) == (17600, "13800138000")
    assert payment.amount == 17600
    assert SKU.objects.get(pk=item.sku_id).stock == 3


def test_a_tampered_price_or_total_in_the_request_changes_nothing(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")

    tampered = {
        "retail_price_fen": "1",
        "price": "0.01",
        "total_fen": "1",
        "goods_fen": "1",
        "quantity": "50",
        "item": str(item.pk + 1),
    }
    buy_now(buyer, item, extra=tampered)

    order = only_order(shops.a, item)
    assert order.total_fen == 8800
    with tenant_context(shops.a):
        assert [(ln.quantity, ln.retail_price_fen) for ln in order.lines.all()] == [(1, 8800)]


def test_a_bad_quantity_is_refused_before_checkout(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    for qty in ("0", "-3", "100", "1.5", "abc"):
        answer = buyer.post("/cart/add/", {"item": item.pk, "quantity": qty, "buy_now": "1"})
        assert answer.status_code == 302 and answer["Location"] != "/checkout/?now=1"
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()


def test_checkout_errors_are_shown_and_nothing_is_created(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})

    answer = buyer.post(
        "/checkout/?now=1",
        {**ADDRESS, "contact": "12345", "recipient_phone": "555", "province": "Atlantis"},
    )

    assert answer.status_code == 200
    assert "valid e-mail address or an 11-digit mainland mobile number" in answer.text
    assert "Enter an 11-digit mainland mobile number" in answer.text
    assert "Select a valid choice" in answer.text
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()
    assert SKU.objects.get(pk=item.sku_id).stock == 5


def test_the_cart_collects_goods_and_checks_out_together(shops, shop_client):
    _l1, first = listed(shops.a, price=8800)
    _l2, second = listed(shops.a, price=9900)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": first.pk, "quantity": 1})
    buyer.post("/cart/add/", {"item": second.pk, "quantity": 1})
    buyer.post("/cart/add/", {"item": second.pk, "quantity": 2})

    cart = buyer.get("/cart/")
    assert cart.status_code == 200
    assert "¥385.00" in cart.text  # 88 + 3 × 99
    checked_out = buyer.post("/checkout/", ADDRESS)
    assert checked_out.status_code == 302
    order = only_order(shops.a, first)
    assert order.total_fen == 38500
    assert "Your cart is empty" in buyer.get("/cart/").text


def test_sold_out_during_checkout_gives_one_clear_message(shops, shop_client):
    _listing, item = listed(shops.a, stock=1)
    first, second = shop_client("a.localhost"), shop_client("a.localhost")
    for buyer in (first, second):
        buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})

    assert first.post("/checkout/?now=1", ADDRESS).status_code == 302
    late = second.post("/checkout/?now=1", ADDRESS)

    assert late.status_code == 409
    assert "not available now" in late.text or "sold out" in late.text


def test_only_the_buyer_or_a_lookup_opens_the_order_page(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = only_order(shops.a, item)

    assert buyer.get(f"/orders/{order.number}/").status_code == 200
    stranger = shop_client("a.localhost")
    assert stranger.get(f"/orders/{order.number}/").status_code == 404

    wrong = stranger.post("/orders/lookup/", {"number": order.number, "phone": "13900000000"})
    assert wrong.status_code == 404
    assert "No order matches" in wrong.text
    found = stranger.post(
        "/orders/lookup/", {"number": order.number.lower(), "phone": "13800138000"}
    )
    assert found.status_code == 302 and found["Location"] == f"/orders/{order.number}/"
    page = stranger.get(f"/orders/{order.number}/")
    assert page.status_code == 200 and order.number in page.text


def test_shop_as_order_number_is_not_found_on_shop_bs_host(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buy_now(shop_client("a.localhost"), item)
    order = only_order(shops.a, item)

    other = shop_client("b.localhost")
    answer = other.post("/orders/lookup/", {"number": order.number, "phone": "13800138000"})
    assert answer.status_code == 404
    assert other.get(f"/orders/{order.number}/").status_code == 404


def test_a_returning_buyer_signs_in_with_an_emailed_code(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buy_now(shop_client("a.localhost"), item, contact="mum@example.com")
    order = only_order(shops.a, item)
    mail.outbox.clear()

    again = shop_client("a.localhost")
    assert again.post("/me/code/", {"contact": "Mum@Example.com"}).status_code == 302
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    wrong = again.post("/me/verify/", {"code": "000000" if code != "000000" else "111111"})
    assert "not right" in wrong.text
    mine = again.post("/me/verify/", {"code": code}, follow=True)

    assert mine.redirect_chain == [("/me/", 302)] and order.number in mine.text
    checkout = again.get(f"/orders/{order.number}/")
    assert checkout.status_code == 200
    # Codes are kept per shop: shop A's code is worthless on shop B, which sends its own.
    other = shop_client("b.localhost")
    other.post("/me/code/", {"contact": "mum@example.com"})
    code_of_b = re.search(r"\b(\d{6})\b", mail.outbox[1].body).group(1)
    if code_of_b != code:  # one chance in a million that the two are the same
        assert "not right" in other.post("/me/verify/", {"code": code}).text
    welcome = other.post("/me/verify/", {"code": code_of_b})
    assert welcome.status_code == 302  # right code, but no orders in shop B: nothing to show


def test_a_paid_order_offers_a_share_link_that_attributes_visits_and_orders(shops, shop_client):
    listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = only_order(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
    connection.set_schema_to_public()

    page = buyer.get(f"/orders/{order.number}/")
    link = re.search(r'class="share-url" type="text" readonly value="([^"]+)"', page.text).group(1)
    path = link.split("a.localhost", 1)[1]

    friend = shop_client("a.localhost")
    visit = friend.get(path)
    friend.get(path)
    assert visit.status_code == 302 and visit["Location"].endswith(f"/p/{listing.pk}/")
    buy_now(friend, item, contact="13900001111", recipient_phone="13900001111")

    with tenant_context(shops.a):
        share = ShareLink.objects.get(listing=listing)
        assert re.fullmatch(r"[A-Za-z0-9]{12}", share.code)  # survives chat apps' link parsing
        assert share.visits == 1
        referred = Order.objects.get(contact_mobile="13900001111", lines__item=item)
        assert referred.share_link_id == share.pk


def test_a_scan_to_pay_provider_shows_its_code_as_a_qr_image(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item)
    order = only_order(shops.a, item)
    # As WeChat Pay Native answers: a weixin:// code to scan instead of a page to open.
    Payment.objects.filter(order_number=order.number).update(
        checkout_kind="qrcode", checkout_url="weixin://wxpay/bizpayurl?pr=AbCdEf1"
    )

    again = buyer.post(f"/orders/{order.number}/pay/")
    assert again.status_code == 302 and again["Location"] == f"/orders/{order.number}/scan/"
    page = buyer.get(again["Location"])
    assert page.status_code == 200
    assert "<svg" in page.text and "weixin://" not in page.text
    assert shop_client("a.localhost").get(again["Location"]).status_code == 404


def test_a_failed_add_goes_back_only_to_a_page_of_this_shop(shops, shop_client):
    buyer = shop_client("a.localhost")
    evil = buyer.post("/cart/add/", {"item": "x"}, HTTP_REFERER="https://evil.example/phish")
    assert evil.status_code == 302 and evil["Location"] == "/"
    own = buyer.post("/cart/add/", {"item": "x"}, HTTP_REFERER="http://a.localhost/welcome/")
    assert own["Location"] == "http://a.localhost/welcome/"


def test_the_delivery_fee_is_quoted_for_the_chosen_province_before_paying(shops, shop_client):
    """The test template charges 20 yuan to Xinjiang (first kg) and nothing elsewhere."""
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})

    far = buyer.get("/checkout/quote/", {"province": "新疆", "now": "1"})
    near = buyer.get("/checkout/quote/", {"province": "浙江", "now": "1"})

    assert far.status_code == 200
    expected = {
        "province": "新疆",
        "goods_fen": 8800,
        "shipping_fen": 2000,
        "total_fen": 10800,
        "goods": "¥88.00",
        "shipping": "¥20.00",
        "total": "¥108.00",
    }
    # (The quote also says what coupons take off: tests/test_coupons_checkout.py.)
    assert far.json().items() >= expected.items()
    assert (near.json()["shipping"], near.json()["total"]) == ("¥0.00", "¥88.00")
    # Without JavaScript: "update" shows the fee and the total on the form, places nothing.
    updated = buyer.post(
        "/checkout/?now=1",
        {**ADDRESS, "province": "新疆", "city": "", "district": "", "update": "1"},
    )
    assert updated.status_code == 200
    assert re.search(r'data-quote="total">¥108.00<', updated.text)
    assert re.search(r'data-quote="shipping">¥20.00<', updated.text)
    assert '<option value="乌鲁木齐市">' in updated.text  # the province's cities to pick from
    assert 'class="error"' not in updated.text
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()
    # What the buyer saw is what she is charged.
    buyer.post(
        "/checkout/?now=1",
        {**ADDRESS, "province": "新疆", "city": "乌鲁木齐市", "district": "天山区"},
    )
    order = only_order(shops.a, item)
    assert (order.shipping_fen, order.total_fen) == (2000, 10800)


def test_the_quote_endpoint_refuses_bad_input_cleanly(shops, shop_client):
    buyer = shop_client("a.localhost")
    for province in ("", "Atlantis", "新疆\x00", "浙" * 500):
        answer = buyer.get("/checkout/quote/", {"province": province})
        assert answer.status_code == 400 and answer.json()["error"]
    assert buyer.get("/checkout/quote/", {"province": "浙江"}).status_code == 404  # empty cart
    assert buyer.post("/checkout/quote/", {"province": "浙江"}).status_code == 405


def test_city_and_district_must_belong_to_the_province_and_city(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})

    wrong_city = buyer.post("/checkout/?now=1", {**ADDRESS, "province": "江苏"})
    wrong_district = buyer.post("/checkout/?now=1", {**ADDRESS, "district": "鼓楼区"})
    made_up = buyer.post("/checkout/?now=1", {**ADDRESS, "city": "杭州市\u202e", "district": "x"})

    assert "Choose a city of 江苏." in wrong_city.text
    assert "Choose a district of 杭州市." in wrong_district.text
    assert made_up.status_code == 200 and 'class="error"' in made_up.text
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()
    assert SKU.objects.get(pk=item.sku_id).stock == 5


def test_the_checkout_offers_a_picker_from_the_divisions_data(shops, shop_client):
    from django.contrib.staticfiles import finders

    from storefront.orders.regions import PROVINCES, divisions

    _listing, item = listed(shops.a, stock=5)
    buyer = shop_client("a.localhost")
    buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    page = buyer.get("/checkout/?now=1")

    assert re.search(r'<select name="city"[^>]*>', page.text)
    assert re.search(r'<select name="district"[^>]*>', page.text)
    url = re.search(r'data-divisions="([^"]+)"', page.text).group(1)
    assert url.endswith("storefront/china-divisions.json")
    assert finders.find("storefront/china-divisions.json") is not None
    assert tuple(divisions()) == PROVINCES
    assert divisions()["北京"]["北京市"][:2] == ("东城区", "西城区")
    assert "天山区" in divisions()["新疆"]["乌鲁木齐市"]


def test_the_mobile_is_asked_once_and_an_email_is_optional(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    page = shop_client("a.localhost")
    page.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    form = page.get("/checkout/?now=1").text
    assert form.count('inputmode="tel"') == 1  # one mobile field, the recipient's

    buy_now(shop_client("a.localhost"), item, contact="", recipient_phone="139 0000 2222")
    buy_now(shop_client("a.localhost"), item, contact="Mum@Example.com")
    with tenant_context(shops.a):
        orders = Order.objects.filter(lines__item=item).order_by("id")
        assert [(o.contact_mobile, o.contact_email, o.recipient_phone) for o in orders] == [
            ("13900002222", "", "13900002222"),
            ("", "mum@example.com", "13800138000"),
        ]


def test_with_no_payment_provider_checkout_says_so_and_holds_no_stock(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")
    with override_settings(VSTORE_PAYMENTS_SANDBOX=False, WECHATPAY_MCHID="", ALIPAY_APP_ID=""):
        answer = buy_now(buyer, item, quantity=2)

    assert answer.status_code == 409
    assert "cannot take payments" in answer.text
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()
    assert SKU.objects.get(pk=item.sku_id).stock == 5
