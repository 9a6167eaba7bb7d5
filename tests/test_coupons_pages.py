"""What a fan sees of coupons and of her account (我的): the coupon link and claiming it, the
领券 strip of a product page, and /me/ with her orders by state and her coupons."""

from __future__ import annotations

import re
import secrets

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import supplier_order_ship
from storefront.coupons.models import Coupon, CouponClaim
from storefront.models import Fan, Order

from .c4_helpers import coupon_make, signed_in
from .storefront_helpers import buy_now, listed, paid_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def claims(shop, coupon) -> list[CouponClaim]:
    with tenant_context(shop):
        found = list(CouponClaim.objects.filter(coupon_id=coupon.pk).select_related("fan"))
    connection.set_schema_to_public()
    return found


# --- the account page ---------------------------------------------------------------------------


def test_the_account_page_asks_a_signed_out_visitor_to_sign_in_with_a_code(shops, shop_client):
    page = shop_client("a.localhost").get("/me/")

    assert page.status_code == 200
    assert "Sign in with a code sent to your mobile or e-mail" in page.text
    form = re.search(r'class="vs-form account-signin" method="post" action="([^"]+)"', page.text)
    assert form and form.group(1) == "/me/code/?next=/me/"
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_signing_in_with_a_code_lands_on_the_account_page_with_her_orders(shops, shop_client):
    _listing, item = listed(shops.a, stock=5, title="小熊饼干")
    buy_now(shop_client("a.localhost"), item, contact="mum-me@example.com")

    fan = shop_client("a.localhost")
    answer = signed_in(fan, "mum-me@example.com")

    assert answer["Location"] == "/me/"
    page = fan.get("/me/")
    assert "小熊饼干" in page.text and "Awaiting payment" in page.text
    assert "m***@example.com" in page.text  # greeted without printing her whole address


def test_a_fan_with_no_orders_yet_can_sign_in_and_has_an_account(shops, shop_client):
    fan = shop_client("a.localhost")
    assert signed_in(fan, "new-fan@example.com")["Location"] == "/me/"

    page = fan.get("/me/")
    assert page.status_code == 200 and "No orders yet." in page.text
    with tenant_context(shops.a):
        assert Fan.objects.filter(email="new-fan@example.com").count() == 1


def test_orders_are_grouped_by_their_real_state(shops, shop_client):
    buyer, order, _line = paid_order(shops, shop_client, quantity=1)
    supplier_order_ship(
        supplier_order=(so := SupplierOrder.objects.get(order_number=order.number)),
        supplier=so.supplier,
        carrier="顺丰速运",
        tracking_number="SF1234567890",
    )
    _listing, item = listed(shops.a, stock=5, title="未付款的碗")
    buy_now(buyer, item, contact="mum@example.com")
    with tenant_context(shops.a):
        fan_id = Order.objects.get(number=order.number).fan_id
    connection.set_schema_to_public()
    with tenant_context(shops.a):  # sessions live in the shop's schema
        session = buyer.session
        session["storefront_fan"] = fan_id
        session.save()
    connection.set_schema_to_public()

    def numbers(tab: str) -> set[str]:
        html = buyer.get(f"/me/?tab={tab}").text
        return set(re.findall(r'class="account-order-number">(\w+)<', html))

    with tenant_context(shops.a):
        unpaid = Order.objects.get(lines__item=item).number
    connection.set_schema_to_public()
    assert numbers("to_receive") == {order.number}
    assert numbers("unpaid") == {unpaid}
    assert numbers("to_ship") == set() and numbers("aftersale") == set()
    assert numbers("all") == {order.number, unpaid}
    assert numbers("bogus") == {order.number, unpaid}  # an unknown tab is all of them
    tabs = buyer.get("/me/").text
    assert re.search(r"To receive</span> <span class=\"account-badge\"[^>]*>1<", tabs)


def test_sign_in_never_sends_her_to_another_site(shops, shop_client):
    for i, target in enumerate(("https://evil.example/", "//evil.example/x", "/\\evil.example")):
        fan = shop_client("a.localhost")
        fan.get("/me/code/", {"next": target})
        assert signed_in(fan, f"safe-next-{i}@example.com")["Location"] == "/me/", target


# --- the coupon link ----------------------------------------------------------------------------


def test_the_coupon_link_shows_its_rules_validity_and_a_qr_code(shops, shop_client):
    coupon = coupon_make(
        shops.a,
        name="满 99 减 15",
        kind=Coupon.Kind.THRESHOLD,
        amount_fen=1500,
        min_goods_fen=9900,
        total_limit=100,
    )

    page = shop_client("a.localhost").get(f"/c/{coupon.code}/")

    assert page.status_code == 200
    assert "满 99 减 15" in page.text
    assert "¥15.00 off orders of goods over ¥99.00" in page.text
    assert "One per person" in page.text and "Valid " in page.text
    assert "100 left" in page.text
    assert "<svg" in page.text and f"http://a.localhost/c/{coupon.code}/" in page.text
    # A lower-case code in a hand-typed link finds it too.
    assert shop_client("a.localhost").get(f"/c/{coupon.code.lower()}/").status_code == 200


def test_claiming_signed_out_asks_for_a_code_then_claims_when_she_comes_back(shops, shop_client):
    coupon = coupon_make(shops.a)
    fan = shop_client("a.localhost")

    asked = fan.post(f"/c/{coupon.code}/", {"source": "link"})
    assert asked.status_code == 302
    assert asked["Location"] == f"/me/code/?next=%2Fc%2F{coupon.code}%2F"
    assert claims(shops.a, coupon) == []
    fan.get(asked["Location"])
    back = signed_in(fan, "claimer@example.com")
    assert back["Location"] == f"/c/{coupon.code}/"

    landed = fan.get(back["Location"], follow=True)
    assert "Claimed!" in landed.text
    [claim] = claims(shops.a, coupon)
    assert (claim.fan.email, claim.source) == ("claimer@example.com", "link")
    assert claim.state == "available"
    # Coming back again claims nothing more: the pending claim was used up.
    fan.get(f"/c/{coupon.code}/")
    assert len(claims(shops.a, coupon)) == 1


def test_a_signed_in_fan_claims_once_and_sees_it_at_her_account(shops, shop_client):
    coupon = coupon_make(shops.a, name="店铺券", per_fan_limit=1)
    fan = shop_client("a.localhost")
    signed_in(fan, "wallet@example.com")

    first = fan.post(f"/c/{coupon.code}/", {"source": "product"})
    assert first.status_code == 302 and first["Location"] == f"/c/{coupon.code}/"
    again = fan.post(f"/c/{coupon.code}/", {"source": "product"})

    assert again.status_code == 409 and 'role="alert"' in again.text
    [claim] = claims(shops.a, coupon)
    assert claim.source == "product"
    me = fan.get("/me/").text
    wallet = me[me.index('id="account-coupons-h"') :]
    assert "店铺券" in wallet and "Ready to use" in wallet and ">Use it<" in wallet


def test_a_forged_claim_source_is_recorded_as_the_link(shops, shop_client):
    coupon = coupon_make(shops.a)
    fan = shop_client("a.localhost")
    signed_in(fan, "forged@example.com")
    fan.post(f"/c/{coupon.code}/", {"source": "reward"})  # rewards are never claimed by hand
    [claim] = claims(shops.a, coupon)
    assert claim.source == "link"


def test_a_sold_out_coupon_says_so_and_refuses_the_next_fan(shops, shop_client):
    coupon = coupon_make(shops.a, total_limit=1)
    first = shop_client("a.localhost")
    signed_in(first, "first@example.com")
    assert first.post(f"/c/{coupon.code}/").status_code == 302

    late = shop_client("a.localhost")
    signed_in(late, "late@example.com")
    page = late.get(f"/c/{coupon.code}/")
    assert "All of these coupons have been claimed." in page.text
    refused = late.post(f"/c/{coupon.code}/")
    assert refused.status_code == 409
    assert len(claims(shops.a, coupon)) == 1


def test_a_paused_or_ended_coupon_cannot_be_claimed(shops, shop_client):
    paused = coupon_make(shops.a)
    ended = coupon_make(shops.a)
    with tenant_context(shops.a):
        from storefront.coupons.services import coupon_end, coupon_pause

        coupon_pause(coupon=Coupon.objects.get(pk=paused.pk))
        coupon_end(coupon=Coupon.objects.get(pk=ended.pk))
    connection.set_schema_to_public()
    fan = shop_client("a.localhost")
    signed_in(fan, "paused@example.com")

    assert "paused by the shop" in fan.get(f"/c/{paused.code}/").text
    assert "has ended" in fan.get(f"/c/{ended.code}/").text
    assert fan.post(f"/c/{paused.code}/").status_code == 409
    assert fan.post(f"/c/{ended.code}/").status_code == 409
    assert claims(shops.a, paused) == [] and claims(shops.a, ended) == []


def test_shop_as_coupon_code_is_unknown_in_shop_b(shops, shop_client):
    coupon = coupon_make(shops.a)
    other = shop_client("b.localhost")
    assert other.get(f"/c/{coupon.code}/").status_code == 404
    assert other.post(f"/c/{coupon.code}/").status_code == 404


def test_a_sharing_reward_coupon_has_no_public_page(shops, shop_client):
    coupon = coupon_make(shops.a, purpose=Coupon.Purpose.SHARE_REWARD)
    fan = shop_client("a.localhost")
    signed_in(fan, "reward-hunter@example.com")
    assert fan.get(f"/c/{coupon.code}/").status_code == 404
    assert fan.post(f"/c/{coupon.code}/").status_code == 404
    assert claims(shops.a, coupon) == []


@pytest.mark.parametrize(
    "code", ["ab", "A" * 17, "AB-CD", "%3Cscript%3E", "%00ABCD", "ABCD%0A", "%E4%BC%98%E6%83%A0"]
)
def test_malformed_coupon_codes_are_not_found_never_an_error(shops, shop_client, code):
    client = shop_client("a.localhost")
    assert client.get(f"/c/{code}/").status_code == 404
    assert client.post(f"/c/{code}/").status_code == 404


def test_claiming_needs_the_csrf_token(shops, shop_client):
    coupon = coupon_make(shops.a)
    fan = shop_client("a.localhost", enforce_csrf_checks=True)
    signed_in_plain = shop_client("a.localhost")
    signed_in(signed_in_plain, "csrf@example.com")
    fan.cookies = signed_in_plain.cookies

    assert fan.post(f"/c/{coupon.code}/").status_code == 403
    assert claims(shops.a, coupon) == []


def test_claims_are_limited_per_client(shops, shop_client, settings):
    settings.VSTORE_RATES = {**settings.VSTORE_RATES, "coupon_claim": "3/h"}
    coupons = [coupon_make(shops.a) for _ in range(4)]
    bot = shop_client("a.localhost")
    signed_in(bot, "bot@example.com")
    # A network of its own (counters live in Redis for the hour, across test runs too).
    address = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::7"

    answers = [bot.post(f"/c/{c.code}/", REMOTE_ADDR=address).status_code for c in coupons]

    assert answers == [302, 302, 302, 429]
    assert claims(shops.a, coupons[3]) == []


# --- the product page's 领券 strip ----------------------------------------------------------------


def test_the_product_page_offers_its_coupons_and_nothing_about_the_visitor(
    shops, shop_client, settings
):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30
    listing, _item = listed(shops.a, stock=5, title="领券的碗")
    shop_wide = coupon_make(shops.a, name="全店券")
    for_it = coupon_make(
        shops.a, name="这个碗的券", scope=Coupon.Scope.LISTINGS, listings=[listing]
    )
    other_listing, _ = listed(shops.a, stock=5, title="别的碗")
    elsewhere = coupon_make(
        shops.a, name="别的碗的券", scope=Coupon.Scope.LISTINGS, listings=[other_listing]
    )
    reward = coupon_make(shops.a, name="分享奖励", purpose=Coupon.Purpose.SHARE_REWARD)
    fan = shop_client("a.localhost")
    signed_in(fan, "strip@example.com")
    fan.post(f"/c/{shop_wide.code}/")  # she holds one: the cached page must not say so

    page = Client(HTTP_HOST="a.localhost").get(f"/shop/p/{listing.pk}/")

    strip = re.search(r'<section class="coupon-strip".*?</section>', page.text, re.S)
    assert strip, page.text[:2000]
    html = strip.group(0)
    assert f'action="/c/{shop_wide.code}/"' in html and f'action="/c/{for_it.code}/"' in html
    assert elsewhere.code not in html and reward.code not in html
    assert 'name="source" value="product"' in html
    assert "You have" not in page.text and "strip@example.com" not in page.text
    # Her own visit shows the same strip: whether she may claim is the POST's answer.
    mine = fan.get(f"/shop/p/{listing.pk}/").text
    assert re.search(r'<section class="coupon-strip".*?</section>', mine, re.S).group(0).count(
        "<form"
    ) == html.count("<form")


def test_every_shop_page_links_to_me(shops, shop_client):
    client = shop_client("a.localhost")
    for url in ("/", "/cart/", "/orders/lookup/", "/me/"):
        nav = re.search(r'<nav class="shop-nav".*?</nav>', client.get(url).text, re.S)
        assert nav and re.search(r'<a href="/me/"[^>]*>.*?<span>Me</span>', nav.group(0), re.S), url
