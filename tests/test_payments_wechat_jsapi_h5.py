"""WeChat Pay v3 JSAPI (inside WeChat) and H5 (phone browsers), and which channels a browser gets.

A loopback HTTP server plays api.mch.weixin.qq.com: it checks every request's
WECHATPAY2-SHA256-RSA2048 Authorization with the merchant's public key and answers documented
bodies signed with "WeChat Pay's" key, or the error answers a test asks for.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.utils import timezone

from billing.models import Payment
from billing.payments import channels, signing, wechatpay
from billing.payments.alipay import AlipayProvider
from billing.payments.base import BadSignature, ChannelError, Payer, ProviderError
from billing.payments.channels import (
    ALIPAY_PAGE,
    ALIPAY_WAP,
    WECHAT_H5,
    WECHAT_JSAPI,
    WECHAT_NATIVE,
    payment_channels_for,
)
from billing.payments.registry import provider_get
from billing.services import out_trade_no_new

from .payments_helpers import loopback_server

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
MERCHANT_KEY = signing.private_key_generate()
WECHAT_KEY = signing.private_key_generate()
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
H5_URL = (
    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb"
    "?prepay_id=wx2016121516420242444321ca0631331346&package=1405458241"
)
RETURN_URL = "https://a.localhost/orders/A3001/?paid=1&from=h5"

# Real browsers' User-Agents, as they reach the checkout.
WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2185A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1110005 "
    "MMWEBSDK/20231202 MMWEBID/7511 MicroMessenger/8.0.45.2521(0x28002D37) WeChat/arm64 "
    "Weixin NetType/5G Language/zh_CN ABI/arm64"
)
WECHAT_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
    "WindowsWechat(0x63090a13) XWEB/8555 Flue"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)


class FakeWeChatPay(BaseHTTPRequestHandler):
    """api.mch.weixin.qq.com's JSAPI and H5 orders; `state["fail"]` makes it answer an error."""

    state: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-ID", secrets.token_hex(8))
        self.send_header("Wechatpay-Timestamp", ts)
        self.send_header("Wechatpay-Nonce", nonce)
        self.send_header("Wechatpay-Serial", PUBLIC_KEY_ID)
        self.send_header(
            "Wechatpay-Signature",
            signing.sign(WECHAT_KEY, wechatpay.signed_message(ts, nonce, body)),
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        header = self.headers.get("Authorization", "")
        # What WeChat Pay does first: the request must be signed by the merchant's key.
        try:
            auth = wechatpay.authorization_parse(header)
            if auth["mchid"] != MCHID or auth["serial_no"] != CERT_SERIAL:
                raise ValueError("another merchant or certificate")
            message = wechatpay.request_message(
                "POST", self.path, auth["timestamp"], auth["nonce_str"], body
            )
            signing.verify(MERCHANT_KEY.public_key(), message, auth["signature"])
        except (KeyError, ValueError, BadSignature) as exc:
            self._answer(401, {"code": "SIGN_ERROR", "message": f"签名错误 {exc}"})
            return
        self.state["calls"].append((self.path, header, body))
        if self.state.get("fail"):
            status, code, message = self.state["fail"]
            self._answer(status, {"code": code, "message": message})
            return
        order = json.loads(body)
        if self.path == "/v3/pay/transactions/jsapi":
            self._answer(200, {"prepay_id": self.state.get("prepay_id", "wx2014" + "0" * 30)})
        elif self.path == "/v3/pay/transactions/h5":
            self._answer(200, {"h5_url": H5_URL})
        elif self.path == "/v3/pay/transactions/native":
            self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order['out_trade_no']}"})
        else:
            self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such resource"})


@pytest.fixture(scope="module")
def wechat_api():
    with loopback_server(FakeWeChatPay) as url:
        yield url


@pytest.fixture
def wechat(settings, wechat_api) -> dict:
    settings.WECHATPAY_MCHID = MCHID
    settings.WECHATPAY_APPID = APPID
    settings.WECHATPAY_PRIVATE_KEY = signing.private_key_pem(MERCHANT_KEY)
    settings.WECHATPAY_CERT_SERIAL_NO = CERT_SERIAL
    settings.WECHATPAY_PUBLIC_KEY = signing.public_key_pem(WECHAT_KEY.public_key())
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_API_V3_KEY = API_V3_KEY
    settings.WECHATPAY_BASE_URL = wechat_api
    FakeWeChatPay.state = {"calls": []}
    return FakeWeChatPay.state


def new_payment(shops, *, amount: int = 12900) -> Payment:
    """A payment not yet placed with WeChat Pay (payment_create would place a Native order)."""
    return Payment.objects.create(
        tenant=shops.a,
        order_number="A3001",
        amount=amount,
        currency="CNY",
        provider="wechatpay",
        out_trade_no=out_trade_no_new(),
        expires_at=timezone.now() + timedelta(minutes=30),
    )


def place(payment: Payment, channel: str, payer: Payer | None = None, return_url: str = ""):
    return provider_get("wechatpay").create_payment(
        payment,
        description="Shop A 订单 A3001",
        return_url=return_url,
        channel=channel,
        payer=payer,
    )


# --- JSAPI ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_jsapi_order_is_placed_with_the_payer_openid_and_a_signed_request(shops, wechat):
    payment = new_payment(shops)

    place(payment, "jsapi", Payer(openid=OPENID))

    [(path, header, body)] = wechat["calls"]
    assert path == "/v3/pay/transactions/jsapi"
    sent = json.loads(body)
    assert sent == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "Shop A 订单 A3001",
        "out_trade_no": payment.out_trade_no,
        "time_expire": sent["time_expire"],
        "notify_url": sent["notify_url"],
        "amount": {"total": 12900, "currency": "CNY"},
        "payer": {"openid": OPENID},
    }
    assert sent["notify_url"].endswith("/pay/notify/wechatpay/")
    assert sent["time_expire"].endswith("+08:00")
    # The signature the server accepted, checked here again from the raw header and body:
    # "POST\n/v3/pay/transactions/jsapi\ntimestamp\nnonce\nbody\n" under the merchant's key.
    auth = wechatpay.authorization_parse(header)
    message = f"POST\n{path}\n{auth['timestamp']}\n{auth['nonce_str']}\n{body}\n".encode()
    signing.verify(MERCHANT_KEY.public_key(), message, auth["signature"])
    assert abs(int(auth["timestamp"]) - time.time()) < 60


@pytest.mark.django_db
def test_the_jsapi_checkout_carries_the_bridge_parameters_signed_as_documented(shops, wechat):
    wechat["prepay_id"] = "wx201410272009395522657a690389285100"
    payment = new_payment(shops)

    checkout = place(payment, "jsapi", Payer(openid=OPENID))

    assert checkout.kind == "jsapi"
    assert checkout.url == "prepay_id=wx201410272009395522657a690389285100"
    params = dict(checkout.params)
    assert list(params) == ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"]
    assert params["appId"] == APPID
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert params["signType"] == "RSA"
    # Seconds, as a string: milliseconds or a number would fail in WeixinJSBridge.
    assert re.fullmatch(r"[0-9]{10}", params["timeStamp"])
    assert abs(int(params["timeStamp"]) - time.time()) < 60
    assert 1 <= len(params["nonceStr"]) <= 32
    # paySign: SHA256withRSA by the merchant's key over four lines, each ended by "\n";
    # signType takes no part. Built here by hand from the documentation, not from our helper.
    documented = (
        f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    ).encode()
    signing.verify(MERCHANT_KEY.public_key(), documented, params["paySign"])
    for wrong in (
        documented[:-1],  # without the last line's "\n"
        documented + b"RSA\n",  # with signType
        documented.replace(APPID.encode(), b"wx0000000000000000"),
    ):
        with pytest.raises(BadSignature):
            signing.verify(MERCHANT_KEY.public_key(), wrong, params["paySign"])
    with pytest.raises(BadSignature):
        signing.verify(WECHAT_KEY.public_key(), documented, params["paySign"])


@pytest.mark.django_db
def test_a_later_page_view_signs_fresh_bridge_parameters_from_the_stored_package(shops, wechat):
    payment = new_payment(shops)
    checkout = place(payment, "jsapi", Payer(openid=OPENID))

    again = provider_get("wechatpay").jsapi_pay_params(checkout.url)

    assert again["package"] == checkout.url
    assert again["nonceStr"] != checkout.params["nonceStr"]
    message = f"{APPID}\n{again['timeStamp']}\n{again['nonceStr']}\n{checkout.url}\n".encode()
    signing.verify(MERCHANT_KEY.public_key(), message, again["paySign"])
    with pytest.raises(ValueError):
        provider_get("wechatpay").jsapi_pay_params("weixin://wxpay/bizpayurl?pr=x")


def test_pay_sign_matches_the_documented_example_message():
    params = wechatpay.client_pay.jsapi_pay_params(
        MERCHANT_KEY,
        app_id="wx8888888888888888",
        package="prepay_id=wx201410272009395522657a690389285100",
        timestamp=1414561699,
        nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )

    # The documentation's string to sign, verbatim.
    example = (
        b"wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        b"prepay_id=wx201410272009395522657a690389285100\n"
    )
    signing.verify(MERCHANT_KEY.public_key(), example, params["paySign"])
    assert params["timeStamp"] == "1414561699"


@pytest.mark.django_db
@pytest.mark.parametrize("payer", [None, Payer(), Payer(openid="   "), Payer(client_ip="1.2.3.4")])
def test_jsapi_without_an_openid_is_a_channel_error_and_nothing_is_sent(shops, wechat, payer):
    payment = new_payment(shops)

    with pytest.raises(ChannelError, match="openid"):
        place(payment, "jsapi", payer)

    assert wechat["calls"] == []
    # A ValueError, so the checkout answers the buyer instead of failing with a 500.
    assert issubclass(ChannelError, ValueError)


@pytest.mark.django_db
@pytest.mark.parametrize("openid", ["o" * 129, "oUpF8u\nMuAJO", "oUpF8u MuAJO", "o\x00x"])
def test_an_openid_wechat_could_not_have_issued_is_refused(shops, wechat, openid):
    with pytest.raises(ChannelError):
        place(new_payment(shops), "jsapi", Payer(openid=openid))
    assert wechat["calls"] == []


# --- H5 ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_h5_order_reports_the_buyer_ip_and_the_wap_scene(shops, wechat):
    payment = new_payment(shops)

    place(payment, "h5", Payer(client_ip="203.0.113.7"), return_url=RETURN_URL)

    [(path, header, body)] = wechat["calls"]
    assert path == "/v3/pay/transactions/h5"
    sent = json.loads(body)
    assert sent["scene_info"] == {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}
    assert "payer" not in sent
    assert sent["appid"] == APPID and sent["mchid"] == MCHID
    assert sent["out_trade_no"] == payment.out_trade_no
    assert sent["amount"] == {"total": 12900, "currency": "CNY"}
    auth = wechatpay.authorization_parse(header)
    message = f"POST\n{path}\n{auth['timestamp']}\n{auth['nonce_str']}\n{body}\n".encode()
    signing.verify(MERCHANT_KEY.public_key(), message, auth["signature"])


@pytest.mark.django_db
def test_the_h5_checkout_is_h5_url_with_the_encoded_return_url(shops, wechat):
    payment = new_payment(shops)

    checkout = place(payment, "h5", Payer(client_ip="203.0.113.7"), return_url=RETURN_URL)

    assert checkout.kind == "redirect"
    assert checkout.url == H5_URL + "&redirect_url=" + quote(RETURN_URL, safe="")
    # Encoded whole: its own "?" and "&" stay inside the one parameter.
    query = parse_qs(urlsplit(checkout.url).query)
    assert query == {
        "prepay_id": ["wx2016121516420242444321ca0631331346"],
        "package": ["1405458241"],
        "redirect_url": [RETURN_URL],
    }


@pytest.mark.django_db
def test_h5_without_a_return_url_sends_the_buyer_to_h5_url_as_given(shops, wechat):
    checkout = place(new_payment(shops), "h5", Payer(client_ip="2001:db8::7"))

    assert checkout.url == H5_URL
    sent = json.loads(wechat["calls"][0][2])
    assert sent["scene_info"]["payer_client_ip"] == "2001:db8::7"


@pytest.mark.django_db
@pytest.mark.parametrize("ip", ["", "localhost", "203.0.113.7, 10.0.0.1", "999.1.1.1"])
def test_h5_without_a_usable_client_ip_is_a_channel_error(shops, wechat, ip):
    with pytest.raises(ChannelError, match="IP address"):
        place(new_payment(shops), "h5", Payer(openid=OPENID, client_ip=ip))
    assert wechat["calls"] == []


# --- errors and the default -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel", "payer", "status", "code", "message"),
    [
        (
            "jsapi",
            Payer(openid=OPENID),
            400,
            "PARAM_ERROR",
            "参数错误: payer.openid 与 appid 不匹配",
        ),
        ("h5", Payer(client_ip="203.0.113.7"), 403, "NO_AUTH", "商户无此接口权限"),
        ("jsapi", Payer(openid=OPENID), 500, "SYSTEM_ERROR", "系统异常，请稍后重试"),
    ],
)
def test_an_error_answer_is_a_provider_error_with_its_code(
    shops, wechat, channel, payer, status, code, message
):
    wechat["fail"] = (status, code, message)

    with pytest.raises(ProviderError) as raised:
        place(new_payment(shops), channel, payer)

    assert raised.value.status == status
    assert raised.value.code == code
    assert f"WeChat Pay {status} {code}: {message}" in str(raised.value)
    if code == "NO_AUTH":
        assert "merchant account may not use WeChat Pay h5" in str(raised.value)


@pytest.mark.django_db
def test_an_answer_without_a_prepay_id_is_a_provider_error(shops, wechat):
    wechat["prepay_id"] = ""

    with pytest.raises(ProviderError, match="without a prepay_id"):
        place(new_payment(shops), "jsapi", Payer(openid=OPENID))


@pytest.mark.django_db
def test_no_channel_is_still_native_and_unknown_channels_are_refused(shops, wechat):
    native = provider_get("wechatpay").create_payment(
        new_payment(shops), description="Shop A", return_url=""
    )

    assert native.kind == "qrcode"
    assert native.url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert wechat["calls"][0][0] == "/v3/pay/transactions/native"
    with pytest.raises(ChannelError, match="'app'"):
        place(new_payment(shops), "app", Payer(openid=OPENID))
    assert len(wechat["calls"]) == 1
    assert provider_get("wechatpay").channels == ("native", "jsapi", "h5")


@pytest.mark.django_db
def test_alipay_refuses_a_channel_it_does_not_have(shops):
    key = signing.private_key_generate()
    alipay = AlipayProvider(
        app_id="2021000000000000",
        seller_id="2088000000000000",
        app_private_key=key,
        alipay_public_key=key.public_key(),
        gateway_url="http://127.0.0.1:9/gateway.do",
        max_age_seconds=300,
        timeout=1,
    )

    with pytest.raises(ChannelError):
        alipay.create_payment(new_payment(shops), description="x", return_url="", channel="jsapi")


# --- which channels a browser gets ------------------------------------------------------------


@pytest.mark.parametrize("agent", [WECHAT_IPHONE, WECHAT_ANDROID, WECHAT_WINDOWS])
def test_inside_wechat_jsapi_is_offered_when_the_openid_is_known_and_never_alipay(agent):
    assert payment_channels_for(agent, wechat_openid=OPENID) == [WECHAT_JSAPI]
    # Without an openid JSAPI cannot be placed, and H5 is refused inside WeChat: the QR code.
    assert payment_channels_for(agent, wechat_openid=None) == [WECHAT_NATIVE]
    assert payment_channels_for(agent, wechat_openid="") == [WECHAT_NATIVE]
    for openid in (OPENID, None):
        offered = payment_channels_for(agent, wechat_openid=openid)
        assert not any(c.provider == "alipay" for c in offered)


@pytest.mark.parametrize("agent", [IPHONE_SAFARI, ANDROID_CHROME])
def test_phone_browsers_get_wechat_h5_and_alipay_wap(agent):
    assert payment_channels_for(agent, wechat_openid=None) == [WECHAT_H5, ALIPAY_WAP]
    # An openid from an earlier visit inside WeChat does not make JSAPI work in Safari.
    assert payment_channels_for(agent, wechat_openid=OPENID) == [WECHAT_H5, ALIPAY_WAP]


@pytest.mark.parametrize("agent", [DESKTOP_CHROME, MAC_SAFARI, ""])
def test_desktops_get_the_wechat_qr_code_and_alipay_page_pay(agent):
    assert payment_channels_for(agent, wechat_openid=None) == [WECHAT_NATIVE, ALIPAY_PAGE]


def test_each_channel_names_a_provider_and_its_create_payment_channel():
    assert [c.key for c in (WECHAT_JSAPI, WECHAT_H5, WECHAT_NATIVE, ALIPAY_WAP, ALIPAY_PAGE)] == [
        "wechatpay-jsapi",
        "wechatpay-h5",
        "wechatpay-native",
        "alipay-wap",
        "alipay-page",
    ]
    assert channels.in_wechat(WECHAT_ANDROID.lower())
    assert not channels.in_wechat(ANDROID_CHROME)
