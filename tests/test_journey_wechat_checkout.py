"""Buying inside WeChat in three taps (issue 17), in Chromium on a phone with WeChat's
User-Agent, against a real HTTP server, a real Celery worker and the loopback WeChat Pay.

WeChat's own parts are played in the page: the JS-SDK (jweixin, fetched from res.wx.qq.com) by a
routed stand-in whose openAddress answers the fan's address book, and WeixinJSBridge by an init
script that arrives late (as WeChat's does, with 'WeixinJSBridgeReady'), records what it is
handed and passes it to the loopback cashier, which checks paySign with the merchant's key.

The taps counted are the buyer's: on the shop's pages, in WeChat's address sheet and in WeChat's
cashier (where she confirms the payment). Screenshots go to the journeys' artifacts directory.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from billing.models import Payment
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
from .wechat_checkout_helpers import (  # noqa: F401 (pytest fixtures)
    APPID,
    OPENID,
    pay_sign_valid,
    wechat_api_fixture,
    wechat_fixture,
    wechat_session,
)

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

TITLE = "宝宝辅食碗 · 吸盘防摔"
PAID_TIMEOUT_MS = 120_000
SLOW_MS = 30_000
OA_APPID = "wx0fa1c2b3d4e5f6a7"

# WeChat's address book as openAddress gives it (full province names, a postal code).
WECHAT_ADDRESS = {
    "errMsg": "openAddress:ok",
    "userName": "陈小雨",
    "telNumber": "13912345678",
    "postalCode": "510630",
    "provinceName": "广东省",
    "cityName": "广州市",
    "countyName": "天河区",
    "detailInfo": "体育西路 191 号 12 楼",
}

# The JS-SDK as the page gets it from res.wx.qq.com; records wx.config. openAddress opens
# WeChat's address sheet, where choosing an address is one tap (counted by the test).
JWEIXIN = """
window.wx = {
  config: function (c) { window.__wxConfig = c; },
  ready: function (fn) { setTimeout(fn, 0); },
  error: function () {},
  openAddress: function (o) { window.__addressSheet = (window.__addressSheet || 0) + 1;
    setTimeout(function () { o.success(%s); }, 0); }
};
"""

# WeixinJSBridge arrives after the page's scripts, then says so, as WeChat's does. The cashier
# is the loopback WeChat Pay: it checks the signature and answers ok or fail.
BRIDGE = """
(function () {
  var cashier = %s;
  setTimeout(function () {
    window.WeixinJSBridge = {
      invoke: function (name, params, cb) {
        sessionStorage.setItem("bridge", JSON.stringify({name: name, params: params}));
        fetch(cashier, {method: "POST", headers: {"Content-Type": "text/plain"},
                        body: JSON.stringify(params)})
          .then(function (r) { return r.json(); })
          .then(function (answer) { cb(answer); }, function () { cb({err_msg: name + ":fail"}); });
      }
    };
    document.dispatchEvent(new Event("WeixinJSBridgeReady"));
  }, 200);
})();
"""


def _wechat_phone(browser, *, shop: str, session: dict, cashier: str):
    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": k, "value": v, "url": shop} for k, v in session.items()])
    context.add_init_script(BRIDGE % json.dumps(cashier))
    context.route(
        "https://res.wx.qq.com/open/js/jweixin-1.6.0.js",
        lambda route: route.fulfill(
            status=200,
            content_type="application/javascript",
            body=JWEIXIN % json.dumps(WECHAT_ADDRESS, ensure_ascii=False),
        ),
    )
    return context


@pytest.mark.browser
@pytest.mark.usefixtures("static_from_finders", "paid_rows_removed")
def test_a_fan_in_wechat_buys_in_four_taps_then_in_three_as_a_returning_fan(
    shops, platform_server, celery_worker, settings, wechat, monkeypatch
):
    from wechat import jssdk

    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server
    settings.WECHAT_OA_APPID = OA_APPID
    settings.WECHAT_OA_SECRET = "s" * 32
    monkeypatch.setattr(jssdk, "jsapi_ticket", lambda: "TICKET-JOURNEY")
    listing, _item = listed(shops.a, price=8800, stock=5, title=TITLE)
    article = article_with_card(shops.a, listing_id=listing.pk, slug="wechat-checkout")
    new_fan = wechat_session(shops.a)  # the official account's silent OAuth gave the openid
    connection.set_schema_to_public()
    shop = f"http://a.localhost:{urlsplit(platform_server).port}"
    cashier = wechat["base_url"] + "/cashier/pay"
    shots = artifacts_dir("wechat-checkout")
    print(f"\nscreenshots: {shots}")
    taps: dict[str, list[str]] = {"new": [], "returning": []}

    # --- a new fan: her address comes from WeChat -----------------------------------------
    with chromium() as browser:
        from playwright.sync_api import expect

        page = _wechat_phone(browser, shop=shop, session=new_fan, cashier=cashier).new_page()
        page.goto(f"{shop}/{article.slug}/")
        page.screenshot(path=shots / "01-new-article.png", full_page=True)

        page.get_by_role("button", name=f"Buy now: {TITLE}").tap()
        taps["new"].append("Buy now")
        expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"), timeout=SLOW_MS)
        form = page.locator("form.checkout-form")
        expect(page.locator('input[name="provider"]:checked')).to_have_value("wechatpay-jsapi")
        address = page.get_by_role("button", name="Use my WeChat address")
        expect(address).to_be_visible()
        page.screenshot(path=shots / "02-new-checkout.png", full_page=True)

        address.tap()
        taps["new"].append("Use my WeChat address")
        # (WeChat's own address sheet then asks her to pick one: counted apart, below.)
        expect(form.locator('[name="district"]')).to_have_value("天河区", timeout=SLOW_MS)
        expect(form.locator('[name="recipient"]')).to_have_value("陈小雨")
        expect(form.locator('[name="recipient_phone"]')).to_have_value("13912345678")
        expect(form.locator('[name="province"]')).to_have_value("广东")
        expect(form.locator('[name="city"]')).to_have_value("广州市")
        expect(form.locator('[name="street"]')).to_have_value("体育西路 191 号 12 楼")
        expect(page.locator(".checkout-total .when-quoted")).to_be_visible()
        sheets = page.evaluate("window.__addressSheet")
        config = page.evaluate("window.__wxConfig")
        assert config["appId"] == OA_APPID and "openAddress" in config["jsApiList"]
        assert config["signature"] == jssdk.jssdk_signature(
            "TICKET-JOURNEY", config["nonceStr"], config["timestamp"], page.url
        )
        page.screenshot(path=shots / "03-new-address-filled.png", full_page=True)

        page.get_by_role("button", name="Confirm and pay").tap()
        taps["new"].append("Confirm and pay")
        taps["new"].append("WeChat cashier: confirm")
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(shop)}/orders/\w+/\?paying=1$"), timeout=SLOW_MS
        )
        expect(page.locator("h1")).to_have_text(
            "Thank you! Your order is paid.", timeout=PAID_TIMEOUT_MS
        )
        bridge = json.loads(page.evaluate("sessionStorage.getItem('bridge')"))
        first_number = page.locator("dd.order-number").inner_text().strip()
        page.screenshot(path=shots / "04-new-paid.png", full_page=True)

    assert bridge["name"] == "getBrandWCPayRequest"
    assert bridge["params"]["appId"] == APPID and bridge["params"]["signType"] == "RSA"
    assert pay_sign_valid(bridge["params"])
    with tenant_context(shops.a):
        first = Order.objects.get(number=first_number)
        assert (first.status, first.province, first.city, first.district) == (
            Order.Status.PAID, "广东", "广州市", "天河区",
        )  # fmt: skip
        assert (first.recipient, first.recipient_phone) == ("陈小雨", "13912345678")
        # Signed in later (a code to her mobile, or her openid linked to her fan).
        returning = wechat_session(shops.a, fan_id=first.fan_id)
    connection.set_schema_to_public()

    # --- the same fan comes back: everything preselected ---------------------------------------
    with chromium() as browser:
        from playwright.sync_api import expect

        page = _wechat_phone(browser, shop=shop, session=returning, cashier=cashier).new_page()
        page.goto(f"{shop}/{article.slug}/")

        page.get_by_role("button", name=f"Buy now: {TITLE}").tap()
        taps["returning"].append("Buy now")
        expect(page).to_have_url(re.compile(r"/checkout/\?now=1$"), timeout=SLOW_MS)
        form = page.locator("form.checkout-form")
        expect(form.locator('[name="street"]')).to_have_value("体育西路 191 号 12 楼")
        expect(page.locator('input[name="provider"]:checked')).to_have_value("wechatpay-jsapi")
        expect(page.locator(".checkout-total .when-quoted")).to_be_visible()
        page.screenshot(path=shots / "05-returning-checkout.png", full_page=True)

        page.get_by_role("button", name="Confirm and pay").tap()
        taps["returning"].append("Confirm and pay")
        taps["returning"].append("WeChat cashier: confirm")
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(shop)}/orders/\w+/\?paying=1$"), timeout=SLOW_MS
        )
        expect(page.locator("h1")).to_have_text(
            "Thank you! Your order is paid.", timeout=PAID_TIMEOUT_MS
        )
        second_number = page.locator("dd.order-number").inner_text().strip()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "06-returning-paid.png", full_page=True)

    print(f"taps: {json.dumps(taps, ensure_ascii=False)}")
    assert len(taps["returning"]) == 3, taps["returning"]
    assert len(taps["new"]) == 4, taps["new"]  # the three, and the address button
    assert sheets == 1  # plus her pick in WeChat's address sheet
    assert second_number != first_number
    payments = Payment.objects.filter(
        tenant=shops.a, order_number__in=[first_number, second_number]
    )
    assert {(p.provider, p.channel, p.status) for p in payments} == {
        ("wechatpay", "jsapi", Payment.Status.CAPTURED)
    }
    assert len(wechat["cashier"]) == 2
    assert all(p["package"].startswith("prepay_id=wx") for p in wechat["cashier"])
    payers = [json.loads(body)["payer"] for _path, body in wechat["calls"]]
    assert payers == [{"openid": OPENID}, {"openid": OPENID}]
