"""Shared makers for the in-WeChat checkout tests: a loopback WeChat Pay that also answers
queries and plays the cashier, WeChat browser sessions, the User-Agents that reach a shop."""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import tenant_context

from billing.payments import signing, wechatpay
from billing.payments.base import BadSignature
from billing.payments.wechatpay_client_pay import pay_sign_message
from storefront.orders.selectors import SESSION_FAN
from storefront.orders.wx_identity import SESSION_OPENID

from .payments_helpers import loopback_server

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
MERCHANT_KEY = signing.private_key_generate()
WECHAT_KEY = signing.private_key_generate()
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def pay_sign_valid(params: dict) -> bool:
    """Whether PARAMS' paySign is the merchant's signature (what WeChat's cashier checks)."""
    message = pay_sign_message(
        params["appId"], params["timeStamp"], params["nonceStr"], params["package"]
    )
    try:
        signing.verify(MERCHANT_KEY.public_key(), message, params["paySign"])
    except BadSignature:
        return False
    return True


class WeChatPayWithCashier(BaseHTTPRequestHandler):
    """api.mch.weixin.qq.com for orders (JSAPI, H5, Native) and queries, checking each
    request's merchant signature; plus POST /cashier/pay, which plays WeChat's cashier: it takes
    getBrandWCPayRequest's object, checks appId and paySign, and marks the trade paid."""

    state: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, payload: dict, *, signed: bool = True) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if signed:
            ts, nonce = str(int(time.time())), secrets.token_hex(16)
            self.send_header("Wechatpay-Timestamp", ts)
            self.send_header("Wechatpay-Nonce", nonce)
            self.send_header("Wechatpay-Serial", PUBLIC_KEY_ID)
            self.send_header(
                "Wechatpay-Signature",
                signing.sign(WECHAT_KEY, wechatpay.signed_message(ts, nonce, body)),
            )
        else:  # the cashier answers the browser's page (another origin)
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _merchant_signed(self, method: str, body: str) -> bool:
        try:
            auth = wechatpay.authorization_parse(self.headers.get("Authorization", ""))
            if auth["mchid"] != MCHID or auth["serial_no"] != CERT_SERIAL:
                return False
            message = wechatpay.request_message(
                method, self.path, auth["timestamp"], auth["nonce_str"], body
            )
            signing.verify(MERCHANT_KEY.public_key(), message, auth["signature"])
        except (KeyError, ValueError, BadSignature):
            return False
        return True

    def do_OPTIONS(self) -> None:  # the browser's preflight for the cashier
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path == "/cashier/pay":
            self._cashier(json.loads(body or "{}"))
            return
        if not self._merchant_signed("POST", body):
            self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
            return
        self.state["calls"].append((self.path, body))
        order = json.loads(body)
        number = order["out_trade_no"]
        self.state["orders"][number] = order
        if self.path == "/v3/pay/transactions/jsapi":
            self._answer(200, {"prepay_id": f"wx{number}"})
        elif self.path == "/v3/pay/transactions/h5":
            self._answer(200, {"h5_url": f"https://wx.tenpay.com/checkmweb?prepay_id=wx{number}"})
        elif self.path == "/v3/pay/transactions/native":
            self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={number}"})
        else:
            self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such resource"})

    def do_GET(self) -> None:
        if not self._merchant_signed("GET", ""):
            self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
            return
        prefix = "/v3/pay/transactions/out-trade-no/"
        path = urlsplit(self.path).path
        number = unquote(path[len(prefix) :]) if path.startswith(prefix) else ""
        order = self.state["orders"].get(number)
        if order is None:
            self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return
        paid = number in self.state["paid"]
        answer = {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": number,
            "trade_state": "SUCCESS" if paid else "NOTPAY",
            "amount": {"total": order["amount"]["total"], "currency": "CNY"},
        }
        if paid:
            answer |= {
                "transaction_id": f"42000{number}"[:32],
                "success_time": timezone.localtime().isoformat(timespec="seconds"),
            }
        self._answer(200, answer)

    def _cashier(self, params: dict) -> None:
        self.state["cashier"].append(params)
        package = str(params.get("package", ""))
        number = package.removeprefix("prepay_id=wx")
        ok = (
            params.get("appId") == APPID
            and params.get("signType") == "RSA"
            and number in self.state["orders"]
            and pay_sign_valid(params)
        )
        if ok:
            self.state["paid"].add(number)
        self._answer(
            200, {"err_msg": f"get_brand_wcpay_request:{'ok' if ok else 'fail'}"}, signed=False
        )


@pytest.fixture(scope="module", name="wechat_api")
def wechat_api_fixture():
    with loopback_server(WeChatPayWithCashier) as url:
        yield url


@pytest.fixture(name="wechat")
def wechat_fixture(settings, wechat_api) -> dict:
    """WeChat Pay configured against the loopback server; its state (calls, orders, paid)."""
    settings.WECHATPAY_MCHID = MCHID
    settings.WECHATPAY_APPID = APPID
    settings.WECHATPAY_PRIVATE_KEY = signing.private_key_pem(MERCHANT_KEY)
    settings.WECHATPAY_CERT_SERIAL_NO = CERT_SERIAL
    settings.WECHATPAY_PUBLIC_KEY = signing.public_key_pem(WECHAT_KEY.public_key())
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_API_V3_KEY = API_V3_KEY
    settings.WECHATPAY_BASE_URL = wechat_api
    WeChatPayWithCashier.state = {
        "calls": [],
        "orders": {},
        "paid": set(),
        "cashier": [],
        "base_url": wechat_api,
    }
    return WeChatPayWithCashier.state


def session_make(shop, **values: object) -> str:
    """A session of SHOP (sessions live in each shop's schema) holding VALUES; its key."""
    store_class = import_string(django_settings.SESSION_ENGINE + ".SessionStore")
    with tenant_context(shop):
        session: SessionBase = store_class()
        for key, value in values.items():
            session[key] = value
        session.save()
        key = session.session_key
    connection.set_schema_to_public()
    assert key
    return key


def wechat_session(shop, *, openid: str | None = OPENID, fan_id: int | None = None) -> dict:
    """A session as the official account's OAuth leaves it (the openid), maybe signed in."""
    values: dict[str, object] = {}
    if openid is not None:
        values[SESSION_OPENID] = openid
    if fan_id is not None:
        values[SESSION_FAN] = fan_id
    return {django_settings.SESSION_COOKIE_NAME: session_make(shop, **values)}
