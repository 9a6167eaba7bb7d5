"""Checkout pays where the buyer is: WeChat JSAPI inside WeChat (with her openid), H5 in other
phone browsers, a QR code on a desktop; the address WeChat knows; a returning fan's last
address; the development stand-in. WeChat Pay is the loopback server of
tests/wechat_checkout_helpers.py, which checks every request's merchant signature."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Payment, SandboxTrade
from billing.payments.base import ChannelError, Payer
from billing.payments.registry import provider_get
from billing.services import payment_create
from storefront.models import Fan, Order
from storefront.orders.services import order_payment_start
from storefront.orders.wx_identity import SESSION_DEV_BROWSER, SESSION_OPENID

from .storefront_helpers import ADDRESS, listed
from .wechat_checkout_helpers import (  # noqa: F401 (pytest fixtures)
    DESKTOP_CHROME,
    IPHONE_SAFARI,
    OPENID,
    WECHAT_IPHONE,
    pay_sign_valid,
    session_make,
    wechat_api_fixture,
    wechat_fixture,
    wechat_session,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

STATIC = Path(__file__).resolve().parents[1] / "storefront" / "static" / "storefront"


def buyer_in(shop_client, host: str, ua: str, cookies: dict | None = None, **extra):
    client = shop_client(host, HTTP_USER_AGENT=ua, **extra)
    for name, value in (cookies or {}).items():
        client.cookies[name] = value
    return client


def to_checkout(client, item, quantity: int = 1) -> None:
    added = client.post("/cart/add/", {"item": item.pk, "quantity": quantity, "buy_now": "1"})
    assert added.status_code == 302 and added["Location"] == "/checkout/?now=1"


def pay_options(html: str) -> list[tuple[str, bool]]:
    """The checkout's "pay with" radios: (value, checked)."""
    return [
        (value, bool(checked))
        for value, checked in re.findall(
            r'<input type="radio" name="provider" value="([^"]*)"( checked)?>', html
        )
    ]


def orders_of(shop, item) -> list[Order]:
    with tenant_context(shop):
        found = list(Order.objects.filter(lines__item=item))
    connection.set_schema_to_public()
    return found


def params_of(html: str) -> dict:
    found = re.search(r'<script id="wxpay-params" type="application/json">(.*?)</script>', html)
    assert found, "no getBrandWCPayRequest parameters on the page"
    return json.loads(found.group(1))


# --- which ways to pay a browser is offered ---------------------------------------------------


def test_each_browser_is_offered_the_channels_it_can_pay_with(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=20)
    cases = [
        (WECHAT_IPHONE, wechat_session(shops.a), "wechatpay-jsapi", "Confirm and pay"),
        (WECHAT_IPHONE, wechat_session(shops.a, openid=None), "wechatpay-native", None),
        (IPHONE_SAFARI, {}, "wechatpay-h5", None),
        (DESKTOP_CHROME, {}, "wechatpay-native", None),
    ]
    for ua, cookies, first, button in cases:
        buyer = buyer_in(shop_client, "a.localhost", ua, cookies)
        to_checkout(buyer, item)
        page = buyer.get("/checkout/?now=1")
        assert page.status_code == 200
        # The browser's WeChat channel first and preselected; the sandbox (tests) after it.
        assert pay_options(page.text) == [(first, True), ("sandbox", False)], ua
        if button:
            assert button in page.text and "Place order and pay" not in page.text
        else:
            assert "Place order and pay" in page.text
    # Nothing was placed with WeChat Pay by showing pages.
    assert wechat["calls"] == []


def test_without_wechat_pay_the_checkout_is_as_before(shops, shop_client):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    page = buyer.get("/checkout/?now=1")
    # The sandbox alone: no choice shown, no stand-in (DEBUG is off), no WeChat script.
    assert pay_options(page.text) == []
    assert "Place order and pay" in page.text
    assert "wx-standin.js" not in page.text and "res.wx.qq.com" not in page.text
    answer = buyer.post("/checkout/?now=1", ADDRESS)
    assert answer.status_code == 302 and "/pay/sandbox/" in answer["Location"]


# --- JSAPI inside WeChat -----------------------------------------------------------------------


def test_inside_wechat_the_order_is_placed_as_jsapi_and_its_pay_page_signs_fresh_params(
    shops, shop_client, wechat
):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)

    answer = buyer.post("/checkout/?now=1", ADDRESS)

    [order] = orders_of(shops.a, item)
    assert answer.status_code == 302 and answer["Location"] == f"/orders/{order.number}/wxpay/"
    [(path, body)] = wechat["calls"]
    sent = json.loads(body)
    assert path == "/v3/pay/transactions/jsapi"
    assert sent["payer"] == {"openid": OPENID} and sent["amount"]["total"] == order.total_fen
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert (payment.provider, payment.channel, payment.checkout_kind) == (
        "wechatpay",
        "jsapi",
        "jsapi",
    )

    first = buyer.get(answer["Location"])
    second = buyer.get(answer["Location"])
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    one, two = params_of(first.text), params_of(second.text)
    assert one["package"] == f"prepay_id=wx{payment.out_trade_no}" == payment.checkout_url
    assert (one["appId"], one["signType"]) == ("wxd678efh567hg6787", "RSA")
    assert pay_sign_valid(one) and pay_sign_valid(two)
    assert one["nonceStr"] != two["nonceStr"]  # signed for each view
    assert not pay_sign_valid(one | {"package": "prepay_id=wx-someone-else"})
    # The page's script is the bridge's caller; the stand-in is not loaded outside DEBUG.
    assert "storefront/wxpay.js" in first.text and "wx-standin.js" not in first.text
    # Another visitor cannot open the pay page of her order.
    assert (
        buyer_in(shop_client, "a.localhost", WECHAT_IPHONE).get(answer["Location"]).status_code
        == 404
    )
    # Only one WeChat Pay order: the page views reuse its prepay_id.
    assert len(wechat["calls"]) == 1


def test_the_pay_script_waits_for_the_bridge_and_follows_its_answer():
    script = (STATIC / "wxpay.js").read_text(encoding="utf-8")
    assert "WeixinJSBridgeReady" in script
    assert '"getBrandWCPayRequest"' in script
    assert "get_brand_wcpay_request:ok" in script and "get_brand_wcpay_request:cancel" in script
    assert "doneUrl" in script  # the order page, which waits for the payment to be confirmed


def test_paid_in_wechat_the_order_page_asks_wechat_pay_and_captures(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    buyer.post("/checkout/?now=1", ADDRESS)
    [order] = orders_of(shops.a, item)
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    wechat["paid"].add(payment.out_trade_no)  # what the cashier does when she pays

    page = buyer.get(f"/orders/{order.number}/?paying=1")

    assert page.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_no_openid_means_no_jsapi_even_when_asked_for(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(
        shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a, openid=None)
    )
    to_checkout(buyer, item)

    forged = buyer.post("/checkout/?now=1", {**ADDRESS, "provider": "wechatpay-jsapi"})

    assert forged.status_code == 409
    assert "Choose a way to pay from the list." in forged.text
    assert orders_of(shops.a, item) == [] and wechat["calls"] == []
    # Her default inside WeChat without an openid: the QR code.
    answer = buyer.post("/checkout/?now=1", ADDRESS)
    [order] = orders_of(shops.a, item)
    assert answer["Location"] == f"/orders/{order.number}/scan/"
    assert [path for path, _body in wechat["calls"]] == ["/v3/pay/transactions/native"]


@pytest.mark.parametrize(
    "value",
    ["wechatpay-bogus", "alipay-wap", "sandbox-jsapi", "wechatpay", "\x00", "x" * 100_000, "🙂"],
)
def test_a_forged_pay_method_is_a_form_error_and_places_nothing(shops, shop_client, wechat, value):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)

    answer = buyer.post("/checkout/?now=1", {**ADDRESS, "provider": value})

    assert answer.status_code == 409
    assert "Choose a way to pay from the list." in answer.text
    assert orders_of(shops.a, item) == []
    assert not Payment.objects.filter(
        tenant=shops.a, created_at__gte=timezone.now() - timedelta(minutes=1)
    ).exists()


@pytest.mark.parametrize("openid", ["o\x00penid", "o" * 200, "open id"])
def test_an_openid_wechat_could_not_have_issued_is_a_form_error(shops, shop_client, wechat, openid):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(
        shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a, openid=openid)
    )
    to_checkout(buyer, item)

    answer = buyer.post("/checkout/?now=1", ADDRESS)

    assert answer.status_code == 409
    assert "This way to pay does not work in this browser" in answer.text
    assert orders_of(shops.a, item) == [] and wechat["calls"] == []


def test_a_huge_or_nul_user_agent_is_just_a_browser(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=5)
    for ua in ("MicroMessenger " + "x" * 200_000, "Mozilla\x00 iPhone Mobile"):
        buyer = buyer_in(shop_client, "a.localhost", ua)
        to_checkout(buyer, item)
        assert buyer.get("/checkout/?now=1").status_code == 200


# --- payment_create: channel and payer checked before anything is written ---------------------


@pytest.mark.parametrize(
    ("provider", "channel", "payer"),
    [
        ("wechatpay", "jsapi", None),
        ("wechatpay", "jsapi", Payer(openid="bad\x00id")),
        ("wechatpay", "h5", Payer(client_ip="not-an-ip")),
        ("wechatpay", "bogus", None),
        ("wechatpay", "x" * 1000, None),
        ("sandbox", "\x00", None),
        ("sandbox", "carrier-pigeon", None),
    ],
)
def test_a_channel_that_cannot_be_placed_writes_no_payment(shops, wechat, provider, channel, payer):
    before = Payment.objects.count()
    with pytest.raises(ChannelError):
        payment_create(
            tenant=shops.a,
            order_number="A9001",
            amount=100,
            provider=provider,
            expires_at=timezone.now() + timedelta(minutes=30),
            channel=channel,
            payer=payer,
        )
    assert Payment.objects.count() == before
    assert wechat["calls"] == []


def test_a_refused_channel_at_pay_time_is_a_message_not_a_500(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    buyer.post("/checkout/?now=1", {**ADDRESS, "provider": "sandbox"})
    [order] = orders_of(shops.a, item)
    with tenant_context(shops.a), pytest.raises(ValidationError) as refused:
        order_payment_start(
            order=order, provider="wechatpay", return_url="", channel="jsapi", payer=None
        )
    connection.set_schema_to_public()
    assert getattr(refused.value, "code", "") == "channel"
    assert Payment.objects.filter(order_number=order.number).count() == 1  # the sandbox one

    forged = buyer.post(f"/orders/{order.number}/pay/", {"provider": "\x00" * 10})
    assert forged.status_code == 302 and forged["Location"] == f"/orders/{order.number}/"
    assert "Choose a way to pay from the list." in buyer.get(forged["Location"]).text


def test_switching_channel_opens_a_new_payment_and_coming_back_reuses_the_first(
    shops, shop_client, wechat
):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    buyer.post("/checkout/?now=1", ADDRESS)
    [order] = orders_of(shops.a, item)
    jsapi = Payment.objects.get(order_number=order.number)

    sandbox = buyer.post(f"/orders/{order.number}/pay/", {"provider": "sandbox"})
    again = buyer.post(f"/orders/{order.number}/pay/", {"provider": "wechatpay-jsapi"})

    payments = Payment.objects.filter(order_number=order.number).order_by("pk")
    assert [(p.provider, p.channel) for p in payments] == [("wechatpay", "jsapi"), ("sandbox", "")]
    assert len({p.out_trade_no for p in payments}) == 2
    assert "/pay/sandbox/" in sandbox["Location"]
    assert again["Location"] == f"/orders/{order.number}/wxpay/"
    assert [path for path, _body in wechat["calls"]] == ["/v3/pay/transactions/jsapi"]
    assert Payment.objects.get(pk=jsapi.pk).status == Payment.Status.CREATED


def test_a_phone_browser_pays_through_h5_with_its_own_address(shops, shop_client, wechat):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", IPHONE_SAFARI, REMOTE_ADDR="203.0.113.9")
    to_checkout(buyer, item)

    answer = buyer.post("/checkout/?now=1", ADDRESS)

    [order] = orders_of(shops.a, item)
    [(path, body)] = wechat["calls"]
    assert path == "/v3/pay/transactions/h5"
    assert json.loads(body)["scene_info"]["payer_client_ip"] == "203.0.113.9"
    assert answer["Location"].startswith("https://wx.tenpay.com/checkmweb?")
    assert "redirect_url=" in answer["Location"] and order.number in unescape(answer["Location"])


def test_a_forwarded_for_header_from_a_stranger_is_not_the_payer_address(
    shops, shop_client, wechat
):
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(
        shop_client,
        "a.localhost",
        IPHONE_SAFARI,
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    to_checkout(buyer, item)
    buyer.post("/checkout/?now=1", ADDRESS)
    [(_path, body)] = wechat["calls"]
    assert json.loads(body)["scene_info"]["payer_client_ip"] == "198.51.100.7"


# --- the address: WeChat's, or her last order's -------------------------------------------------


def test_inside_wechat_the_address_button_comes_with_a_signed_wx_config(
    shops, shop_client, settings, monkeypatch
):
    from wechat import jssdk

    settings.WECHAT_OA_APPID = "wx0fa1c2b3d4e5f6a7"
    settings.WECHAT_OA_SECRET = "s" * 32
    monkeypatch.setattr(jssdk, "jsapi_ticket", lambda: "TICKET-1")
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)

    page = buyer.get("/checkout/?now=1")

    assert (
        '<script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js" defer></script>' in page.text
    )
    assert "storefront/wx-checkout.js" in page.text and "Use my WeChat address" in page.text
    config = json.loads(
        re.search(
            r'<script id="wx-config" type="application/json">(.*?)</script>', page.text
        ).group(1)
    )
    assert "openAddress" in config["jsApiList"] and config["appId"] == "wx0fa1c2b3d4e5f6a7"
    expected = jssdk.jssdk_signature(
        "TICKET-1", config["nonceStr"], config["timestamp"], "http://a.localhost/checkout/?now=1"
    )
    assert config["signature"] == expected
    # Outside WeChat: no SDK, no button, whatever is configured.
    other = buyer_in(shop_client, "a.localhost", IPHONE_SAFARI)
    to_checkout(other, item)
    plain = other.get("/checkout/?now=1").text
    assert "res.wx.qq.com" not in plain and "Use my WeChat address" not in plain


def test_no_ticket_means_no_address_button_and_no_error(shops, shop_client, settings, monkeypatch):
    from wechat import jssdk

    settings.WECHAT_OA_APPID = "wx0fa1c2b3d4e5f6a7"
    settings.WECHAT_OA_SECRET = "s" * 32

    def down() -> str:
        raise ConnectionError("api.weixin.qq.com unreachable")

    monkeypatch.setattr(jssdk, "jsapi_ticket", down)
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    page = buyer.get("/checkout/?now=1")
    assert page.status_code == 200 and "res.wx.qq.com" not in page.text


def test_the_checkout_script_maps_wechat_address_names_onto_the_divisions():
    script = (STATIC / "checkout.js").read_text(encoding="utf-8")
    assert 'addEventListener("vs:address"' in script
    wx = (STATIC / "wx-checkout.js").read_text(encoding="utf-8")
    for name in ("userName", "telNumber", "provinceName", "cityName", "countyName", "detailInfo"):
        assert f"res.{name}" in wx


def _fan_with_order(shop, *, email: str, street: str, openid: str = "") -> Fan:
    with tenant_context(shop):
        fan = Fan.objects.create(email=email, wechat_openid=openid)
        Order.objects.create(
            number=uuid.uuid4().hex[:16].upper(),
            status=Order.Status.PAID,
            fan=fan,
            contact_email=email,
            recipient="林妈妈",
            recipient_phone="13900001111",
            province="广东",
            city="广州市",
            district="天河区",
            street=street,
            goods_fen=100,
            shipping_fen=0,
            total_fen=100,
            pay_deadline=timezone.now() + timedelta(minutes=30),
            paid_at=timezone.now(),
        )
    connection.set_schema_to_public()
    return fan


def test_a_returning_fan_gets_her_last_address_and_wechat_pay_preselected(
    shops, shop_client, wechat
):
    fan = _fan_with_order(shops.a, email="lin@example.com", street="天河路 1 号")
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(
        shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a, fan_id=fan.pk)
    )
    to_checkout(buyer, item)

    page = buyer.get("/checkout/?now=1")

    assert 'value="天河路 1 号"' in page.text and 'value="林妈妈"' in page.text
    assert pay_options(page.text)[0] == ("wechatpay-jsapi", True)
    # One tap: what the page holds is what is posted.
    held = {
        "recipient": "林妈妈",
        "recipient_phone": "13900001111",
        "province": "广东",
        "city": "广州市",
        "district": "天河区",
        "street": "天河路 1 号",
        "contact": "lin@example.com",
    }
    for value in held.values():
        assert f'value="{value}"' in page.text
    answer = buyer.post("/checkout/?now=1", held)
    [order] = orders_of(shops.a, item)
    assert answer["Location"] == f"/orders/{order.number}/wxpay/"
    assert (order.street, order.recipient) == ("天河路 1 号", "林妈妈")


def test_a_fans_address_in_one_shop_is_never_preselected_in_another(shops, shop_client, wechat):
    # Her openid is linked to a fan of shop A (storefront.wechat links it once she proved
    # her number there): shop A knows her without a sign-in.
    fan = _fan_with_order(
        shops.a, email="a-fan@example.com", street="A 店的地址 8 号", openid=OPENID
    )
    _listing_a, item_a = listed(shops.a, price=8800, stock=5)
    _listing_b, item_b = listed(shops.b, price=8800, stock=5)

    at_a = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(at_a, item_a)
    assert "A 店的地址 8 号" in at_a.get("/checkout/?now=1").text

    # Shop B: the same openid in B's session, a session signed in as A's fan id, and A's own
    # session cookie sent to B's host — none of them finds A's fan or her address.
    for cookies in (
        wechat_session(shops.b),
        wechat_session(shops.b, fan_id=fan.pk),
        {name: morsel.value for name, morsel in at_a.cookies.items()},
    ):
        at_b = buyer_in(shop_client, "b.localhost", WECHAT_IPHONE, cookies)
        to_checkout(at_b, item_b)
        page = at_b.get("/checkout/?now=1")
        assert page.status_code == 200
        assert "A 店的地址" not in page.text and "林妈妈" not in page.text


# --- the development stand-in --------------------------------------------------------------------


def test_in_development_the_stand_in_plays_wechat_pay_and_its_address_book(
    shops, shop_client, settings
):
    settings.DEBUG = True
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)

    page = buyer.get("/checkout/?now=1")
    assert pay_options(page.text) == [("sandbox-jsapi", True), ("sandbox", False)]
    assert "storefront/wx-standin.js" in page.text and "res.wx.qq.com" not in page.text
    assert "Use my WeChat address" in page.text

    answer = buyer.post("/checkout/?now=1", ADDRESS)
    [order] = orders_of(shops.a, item)
    assert answer["Location"] == f"/orders/{order.number}/wxpay/"
    pay_page = buyer.get(answer["Location"])
    assert "storefront/wx-standin.js" in pay_page.text
    standin_url = f"/orders/{order.number}/wxpay/standin/"
    assert f'data-wx-standin-pay="{standin_url}"' in pay_page.text

    # Someone else's browser cannot pay her order; she can, once.
    assert buyer_in(shop_client, "a.localhost", WECHAT_IPHONE).post(standin_url).status_code == 404
    paid = buyer.post(standin_url)
    assert paid.json() == {"err_msg": "get_brand_wcpay_request:ok"}
    payment = Payment.objects.get(order_number=order.number)
    assert SandboxTrade.objects.get(out_trade_no=payment.out_trade_no).status == "paid"

    # Off with DEBUG off: neither the endpoint nor the script.
    settings.DEBUG = False
    assert buyer.post(standin_url).status_code == 404
    assert "wx-standin.js" not in buyer.get(answer["Location"]).text


def test_the_stand_in_is_never_there_with_wechat_pay_configured(
    shops, shop_client, settings, wechat
):
    settings.DEBUG = True
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = buyer_in(shop_client, "a.localhost", WECHAT_IPHONE, wechat_session(shops.a))
    to_checkout(buyer, item)
    page = buyer.get("/checkout/?now=1")
    assert "wx-standin.js" not in page.text
    assert pay_options(page.text)[0] == ("wechatpay-jsapi", True)


def test_the_stand_in_script_answers_as_wechat_does():
    script = (STATIC / "wx-standin.js").read_text(encoding="utf-8")
    assert "开发用：模拟微信支付" in script
    assert "getBrandWCPayRequest" in script and "openAddress" in script
    assert "if (!window.WeixinJSBridge)" in script and "if (!window.wx)" in script


def test_provider_channels_are_checked_without_asking_the_provider(shops, wechat):
    provider_get("wechatpay").channel_check("jsapi", Payer(openid=OPENID))
    provider_get("sandbox").channel_check("jsapi", None)
    with pytest.raises(ChannelError):
        provider_get("wechatpay").channel_check("jsapi", Payer())
    assert wechat["calls"] == []


def test_in_development_a_session_that_asked_for_wechat_gets_its_checkout_in_any_browser(
    shops, shop_client, settings
):
    """?wx=1 (DEBUG) makes an ordinary browser act as WeChat's: the checkout offers the pay
    bridge's stand-in and the address button, as it does inside WeChat. Ignored with DEBUG off."""
    _listing, item = listed(shops.a, price=8800, stock=5)
    cookie = {
        django_settings.SESSION_COOKIE_NAME: session_make(
            shops.a, **{SESSION_DEV_BROWSER: True, SESSION_OPENID: OPENID}
        )
    }
    buyer = buyer_in(shop_client, "a.localhost", IPHONE_SAFARI, cookie)
    to_checkout(buyer, item)

    settings.DEBUG = True
    page = buyer.get("/checkout/?now=1")
    assert pay_options(page.text)[0] == ("sandbox-jsapi", True)
    assert "Use my WeChat address" in page.text

    settings.DEBUG = False
    page = buyer.get("/checkout/?now=1")
    assert ("sandbox-jsapi", True) not in pay_options(page.text)
    assert "Use my WeChat address" not in page.text and "wx-standin.js" not in page.text
