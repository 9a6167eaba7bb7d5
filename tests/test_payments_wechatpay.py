"""WeChat Pay API v3: notifications and API calls with keys made here, in the documented formats.

A small HTTP server on loopback plays WeChat Pay's API: it checks each request's
WECHATPAY2-SHA256-RSA2048 Authorization with the merchant's public key and answers with
documented bodies signed by "WeChat Pay's" key, which the provider verifies.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Payment, PaymentNotification, Refund
from billing.payments import signing, wechatpay
from billing.payments.base import BadSignature, ProviderError
from billing.payments.registry import UnknownProvider, provider_get
from billing.services import payment_create, payment_expire, payment_reconcile, payment_refund

pytestmark = pytest.mark.django_db

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
MERCHANT_KEY = signing.private_key_generate()
WECHAT_KEY = signing.private_key_generate()
NOTIFY = "/pay/notify/wechatpay/"


class FakeWeChatPay(BaseHTTPRequestHandler):
    """Just enough of api.mch.weixin.qq.com: native order, query by out_trade_no, refund."""

    state: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, payload: dict | None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        key = self.state.get("response_key", WECHAT_KEY)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-ID", secrets.token_hex(8))
        self.send_header("Wechatpay-Timestamp", ts)
        self.send_header("Wechatpay-Nonce", nonce)
        self.send_header("Wechatpay-Serial", PUBLIC_KEY_ID)
        self.send_header(
            "Wechatpay-Signature", signing.sign(key, wechatpay.signed_message(ts, nonce, body))
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        try:
            auth = wechatpay.authorization_parse(self.headers["Authorization"])
            assert auth["mchid"] == MCHID and auth["serial_no"] == CERT_SERIAL
            message = wechatpay.request_message(
                method, self.path, auth["timestamp"], auth["nonce_str"], body
            )
            signing.verify(MERCHANT_KEY.public_key(), message, auth["signature"])
        except (AssertionError, KeyError, ValueError, BadSignature) as exc:
            self._answer(401, {"code": "SIGN_ERROR", "message": f"签名错误 {exc}"})
            return
        self.state["calls"].append((method, self.path, json.loads(body) if body else None))
        url = urlsplit(self.path)
        trades, refunds = self.state["trades"], self.state["refunds"]
        if method == "POST" and url.path == "/v3/pay/transactions/native":
            order = json.loads(body)
            trades[order["out_trade_no"]] = order | {"trade_state": "NOTPAY"}
            self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_hex(4)}"})
        elif method == "GET" and url.path.startswith("/v3/pay/transactions/out-trade-no/"):
            assert parse_qs(url.query) == {"mchid": [MCHID]}
            order = trades[url.path.rsplit("/", 1)[1]]
            self._answer(
                200,
                {
                    "appid": APPID,
                    "mchid": MCHID,
                    "out_trade_no": order["out_trade_no"],
                    "transaction_id": order.get("transaction_id", ""),
                    "trade_type": "NATIVE",
                    "trade_state": order["trade_state"],
                    "trade_state_desc": "支付成功",
                    "amount": {"total": order["amount"]["total"], "currency": "CNY"},
                }
                | ({"success_time": order["success_time"]} if "success_time" in order else {}),
            )
        elif method == "POST" and url.path == "/v3/refund/domestic/refunds":
            if self.state.get("refund_down"):
                self._answer(500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
                return
            asked = json.loads(body)
            refund = refunds.setdefault(
                asked["out_refund_no"], {"refund_id": f"50{secrets.randbelow(10**26):026d}"}
            )
            self._answer(
                200,
                {
                    "refund_id": refund["refund_id"],
                    "out_refund_no": asked["out_refund_no"],
                    "transaction_id": "4200000000000000000000000001",
                    "out_trade_no": asked["out_trade_no"],
                    "channel": "ORIGINAL",
                    "user_received_account": "招商银行信用卡0403",
                    "create_time": timezone.localtime().isoformat(timespec="seconds"),
                    "status": "PROCESSING",
                    "amount": asked["amount"] | {"payer_total": asked["amount"]["total"]},
                },
            )
        else:
            self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "no such resource"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


@pytest.fixture(scope="module")
def wechat_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeChatPay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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
    FakeWeChatPay.state = {"calls": [], "trades": {}, "refunds": {}}
    return FakeWeChatPay.state


def new_payment(shops, *, amount: int = 12900) -> Payment:
    return payment_create(
        tenant=shops.a,
        order_number="A2001",
        amount=amount,
        provider="wechatpay",
        expires_at=timezone.now() + timedelta(minutes=30),
        description="Shop A 订单 A2001",
    )


def transaction_resource(payment: Payment, **changes) -> dict:
    """A decrypted TRANSACTION.SUCCESS resource, as documented."""
    amount = changes.pop("amount", payment.amount)
    return {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": payment.out_trade_no,
        "transaction_id": "4200000000000000000000000001",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "",
        "success_time": timezone.localtime().isoformat(timespec="seconds"),
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": amount,
            "payer_total": amount,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    } | changes


def refund_resource(payment: Payment, refund: Refund | None = None, **changes) -> dict:
    return {
        "mchid": MCHID,
        "out_trade_no": payment.out_trade_no,
        "transaction_id": "4200000000000000000000000001",
        "out_refund_no": refund.out_refund_no if refund else "RFUNKNOWN",
        "refund_id": refund.provider_refund_id if refund else "50000000000000000000000000",
        "refund_status": "SUCCESS",
        "success_time": timezone.localtime().isoformat(timespec="seconds"),
        "user_received_account": "招商银行信用卡0403",
        "amount": {
            "total": payment.amount,
            "refund": refund.amount if refund else payment.amount,
            "payer_total": payment.amount,
            "payer_refund": refund.amount if refund else payment.amount,
        },
    } | changes


def notify(
    resource: dict,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    notification_id: str | None = None,
    timestamp: int | None = None,
    key=None,
    serial: str = PUBLIC_KEY_ID,
    api_v3_key: str = API_V3_KEY,
    tamper: bool = False,
    resource_changes: dict | None = None,
    timestamp_text: str | None = None,
):
    """POST a notification the way WeChat Pay sends it: encrypted resource, signed headers."""
    original_type = "refund" if event_type.startswith("REFUND") else "transaction"
    encrypted = (
        wechatpay.resource_encrypt(api_v3_key.encode(), resource, associated_data=original_type)
        | {"original_type": original_type}
        | (resource_changes or {})
    )
    envelope = {
        "id": f"EV-{secrets.token_hex(10)}" if notification_id is None else notification_id,
        "create_time": timezone.localtime().isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功" if original_type == "transaction" else "退款成功",
        "resource": encrypted,
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    ts = timestamp_text or str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    signature = signing.sign(key or WECHAT_KEY, wechatpay.signed_message(ts, nonce, body))
    if tamper:
        body = body.replace(b'"summary"', b'"Summary"')
    return Client(HTTP_HOST="localhost").post(
        NOTIFY,
        data=body,
        content_type="application/json",
        headers={
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        },
    )


def test_payment_create_places_a_signed_native_order(shops, wechat):
    payment = new_payment(shops)

    assert payment.checkout_kind == "qrcode"
    assert payment.checkout_url.startswith("weixin://wxpay/bizpayurl?pr=")
    method, path, sent = wechat["calls"][0]
    assert (method, path) == ("POST", "/v3/pay/transactions/native")
    assert sent["mchid"] == MCHID and sent["appid"] == APPID
    assert sent["amount"] == {"total": 12900, "currency": "CNY"}
    assert sent["notify_url"].endswith("/pay/notify/wechatpay/")
    assert sent["time_expire"].endswith("+08:00")


def test_the_authorization_header_has_the_documented_shape(wechat):
    provider = provider_get("wechatpay")

    header = provider.authorization("GET", "/v3/certificates", "")

    assert header.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="')
    parts = wechatpay.authorization_parse(header)
    assert list(parts) == ["mchid", "nonce_str", "signature", "timestamp", "serial_no"]
    message = wechatpay.request_message(
        "GET", "/v3/certificates", parts["timestamp"], parts["nonce_str"], ""
    )
    signing.verify(MERCHANT_KEY.public_key(), message, parts["signature"])


def test_aead_aes_256_gcm_resource_decrypts_with_the_api_v3_key(wechat):
    data = {"out_trade_no": "VS1", "amount": {"total": 1}}
    nonce = "fdasflkja484"
    ciphertext = AESGCM(API_V3_KEY.encode()).encrypt(
        nonce.encode(), json.dumps(data).encode(), b"transaction"
    )
    resource = {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": "transaction",
        "nonce": nonce,
    }

    assert wechatpay.resource_decrypt(API_V3_KEY.encode(), resource) == data
    with pytest.raises(BadSignature):
        wechatpay.resource_decrypt(b"x" * 32, resource)
    with pytest.raises(BadSignature):
        wechatpay.resource_decrypt(API_V3_KEY.encode(), resource | {"associated_data": "refund"})


def test_a_good_notification_captures_once_and_answers_204(shops, wechat):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment))

    assert response.status_code == 204
    assert response.content == b""
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.provider_trade_id == "4200000000000000000000000001"
    assert PaymentNotification.objects.get().outcome == "captured"


def test_a_bad_signature_gets_400_and_changes_nothing(shops, wechat):
    payment = new_payment(shops)

    forged = notify(transaction_resource(payment), key=signing.private_key_generate())
    tampered = notify(transaction_resource(payment), tamper=True)
    other_serial = notify(transaction_resource(payment), serial="PUB_KEY_ID_SOMEONE_ELSE")
    wrong_aead_key = notify(transaction_resource(payment), api_v3_key="b" * 32)

    assert [r.status_code for r in (forged, tampered, other_serial, wrong_aead_key)] == [400] * 4
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()


def test_a_timestamp_older_than_five_minutes_is_refused(shops, wechat):
    payment = new_payment(shops)

    stale = notify(transaction_resource(payment), timestamp=int(time.time()) - 301)
    fresh_enough = notify(transaction_resource(payment), timestamp=int(time.time()) - 240)

    assert stale.status_code == 400
    assert stale.text == "StaleNotification"
    assert fresh_enough.status_code == 204


def test_a_wrong_amount_is_refused_logged_and_not_captured(shops, wechat, caplog):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment, amount=1))

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert PaymentNotification.objects.get().outcome == "refused_amount"
    assert any(r.levelname == "ERROR" and "REFUSED" in r.getMessage() for r in caplog.records)


def test_a_wrong_mchid_or_appid_is_refused(shops, wechat):
    payment = new_payment(shops)

    other_merchant = notify(transaction_resource(payment, mchid="1230000109"))
    other_app = notify(transaction_resource(payment, appid="wx0000000000000000"))

    assert other_merchant.status_code == other_app.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert set(PaymentNotification.objects.values_list("outcome", flat=True)) == {
        "refused_merchant"
    }


def test_the_same_notification_ten_times_captures_once(shops, wechat):
    payment = new_payment(shops)
    resource = transaction_resource(payment)

    answers = [notify(resource, notification_id="EV-2018022511223320873") for _ in range(10)]

    assert [a.status_code for a in answers] == [204] * 10
    assert PaymentNotification.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_a_refund_event_before_the_payment_event_changes_nothing(shops, wechat):
    payment = new_payment(shops)

    early = notify(refund_resource(payment), event_type="REFUND.SUCCESS")
    payment.refresh_from_db()
    assert early.status_code == 204
    assert payment.status == Payment.Status.CREATED

    paid = notify(transaction_resource(payment))
    older_retry = notify(transaction_resource(payment))

    assert paid.status_code == older_retry.status_code == 204
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    outcomes = list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["ignored", "captured", "already_captured"]


def test_refund_goes_to_the_api_signed_once_and_is_confirmed_by_notification(shops, wechat):
    payment = new_payment(shops)
    notify(transaction_resource(payment))
    payment.refresh_from_db()

    refund = payment_refund(payment=payment, amount=2900, idempotency_key="return:A2001:1")
    again = payment_refund(payment=payment, amount=2900, idempotency_key="return:A2001:1")

    assert again.pk == refund.pk
    refund_calls = [c for c in wechat["calls"] if c[1] == "/v3/refund/domestic/refunds"]
    assert len(refund_calls) == 1
    assert refund_calls[0][2]["amount"] == {"refund": 2900, "total": 12900, "currency": "CNY"}
    assert refund_calls[0][2]["out_refund_no"] == refund.out_refund_no
    assert refund.status == Refund.Status.PROCESSING
    assert refund.provider_refund_id.startswith("50")

    confirmed = notify(refund_resource(payment, refund), event_type="REFUND.SUCCESS")

    assert confirmed.status_code == 204
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 2900


def test_a_failed_refund_makes_the_amount_refundable_again(shops, wechat):
    payment = new_payment(shops)
    notify(transaction_resource(payment))
    payment.refresh_from_db()
    refund = payment_refund(payment=payment, amount=payment.amount, idempotency_key="r-abn")

    failed = notify(
        refund_resource(payment, refund, refund_status="ABNORMAL"), event_type="REFUND.ABNORMAL"
    )

    assert failed.status_code == 204
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert payment.status == Payment.Status.CAPTURED
    assert payment.refunded_amount == 0


def test_a_notification_for_an_expired_payment_refunds_through_the_api(shops, wechat):
    payment = payment_expire(payment=new_payment(shops))

    response = notify(transaction_resource(payment))

    assert response.status_code == 204
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert payment.captured_at is None
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == payment.amount
    assert refund.provider_refund_id
    assert refund.out_refund_no in wechat["refunds"]
    assert PaymentNotification.objects.get().outcome == "refunded_expired"


def test_query_asks_the_api_by_out_trade_no(shops, wechat):
    payment = new_payment(shops)
    wechat["trades"][payment.out_trade_no]["trade_state"] = "SUCCESS"

    state = provider_get("wechatpay").query(payment)

    assert state.paid and state.status == "SUCCESS" and state.amount == payment.amount


def test_an_api_answer_with_a_bad_signature_is_not_trusted(shops, wechat):
    payment = new_payment(shops)
    wechat["response_key"] = signing.private_key_generate()

    with pytest.raises(ProviderError, match="not verified"):
        provider_get("wechatpay").query(payment)


def test_reconcile_captures_from_the_query_api_when_the_notification_is_lost(shops, wechat):
    payment = new_payment(shops)
    paid_at = timezone.localtime() - timedelta(minutes=1)
    wechat["trades"][payment.out_trade_no] |= {
        "trade_state": "SUCCESS",
        "transaction_id": "4200000000000000000000000002",
        "success_time": paid_at.isoformat(timespec="seconds"),
    }

    record = payment_reconcile(payment=payment)
    late = notify(transaction_resource(payment, transaction_id="4200000000000000000000000002"))

    assert record is not None and record.outcome == "captured"
    assert late.status_code == 204
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.captured_at == paid_at.replace(microsecond=0)
    assert PaymentNotification.objects.order_by("-pk").first().outcome == "already_captured"


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS", "resource": "x"}', b"[]"],
)
def test_a_signed_but_malformed_notification_gets_400(shops, wechat, body):
    ts, nonce = str(int(time.time())), secrets.token_hex(16)

    response = Client(HTTP_HOST="localhost").post(
        NOTIFY,
        data=body,
        content_type="application/json",
        headers={
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signing.sign(
                WECHAT_KEY, wechatpay.signed_message(ts, nonce, body)
            ),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
        },
    )

    assert response.status_code == 400
    assert response.text == "MalformedNotification"


# --- issue 11: the sandbox only where switched on; notifications that must never give a 500 ------


def test_production_settings_with_wechat_pay_offer_no_sandbox(shops, wechat, settings, shop_client):
    from storefront.models import Order

    from .storefront_helpers import listed

    sandbox_payment = payment_create(
        tenant=shops.a,
        order_number="A-old-sandbox",
        amount=500,
        provider="sandbox",
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    settings.VSTORE_PAYMENTS_SANDBOX = False  # what production settings have
    _listing, item = listed(shops.a, price=8800, stock=5)
    buyer = shop_client("a.localhost")
    added = buyer.post("/cart/add/", {"item": item.pk, "quantity": 1, "buy_now": "1"})
    form = buyer.get(added["Location"])
    address = {
        "contact": "13800138000",
        "recipient": "王小明",
        "recipient_phone": "13800138000",
        "province": "浙江",
        "city": "杭州市",
        "district": "西湖区",
        "street": "文三路 100 号",
    }
    # Asked for by hand: not given, and nothing placed (a form error, as for any way to pay
    # the page did not offer).
    forged = buyer.post(added["Location"], {**address, "provider": "sandbox"})
    assert forged.status_code == 409
    with tenant_context(shops.a):
        assert not Order.objects.filter(lines__item=item).exists()
    connection.set_schema_to_public()
    placed = buyer.post(added["Location"], address)

    assert form.status_code == 200 and "sandbox" not in form.text.lower()
    with tenant_context(shops.a):
        order = Order.objects.get(lines__item=item)
    connection.set_schema_to_public()
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert placed.status_code == 302 and payment.provider == "wechatpay"
    platform = Client(HTTP_HOST="localhost")
    pay_page = platform.get(f"/pay/sandbox/{sandbox_payment.out_trade_no}/")
    pay_post = platform.post(f"/pay/sandbox/{sandbox_payment.out_trade_no}/", {"action": "pay"})
    notify_sandbox = platform.post(
        "/pay/notify/sandbox/", data=b"{}", content_type="application/json"
    )
    assert [pay_page.status_code, pay_post.status_code, notify_sandbox.status_code] == [404] * 3
    with pytest.raises(UnknownProvider):
        payment_create(
            tenant=shops.a,
            order_number="A-new-sandbox",
            amount=500,
            provider="sandbox",
            expires_at=timezone.now() + timedelta(minutes=30),
        )


def test_a_paid_notification_for_an_expired_order_is_recorded_and_refunded(shops, wechat):
    from catalog.models import SKU
    from storefront.models import Order
    from storefront.orders.services import Want, order_expire, order_payment_start, order_place

    from .storefront_helpers import BUYER, listed

    _listing, item = listed(shops.a, price=8800, stock=5)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 2)], buyer=BUYER)
        payment = order_payment_start(
            order=order, provider="wechatpay", return_url="http://a.localhost/"
        )
        # The buyer's 30 minutes pass; the minute sweep expires the order and frees its stock.
        past = timezone.now() - timedelta(seconds=1)
        Order.objects.filter(pk=order.pk).update(pay_deadline=past)
        Payment.objects.filter(pk=payment.pk).update(expires_at=past)
        order.refresh_from_db()
        assert order_expire(order=order).status == Order.Status.EXPIRED
    connection.set_schema_to_public()
    assert SKU.objects.get(pk=item.sku_id).stock == 5

    # Then WeChat Pay says the buyer paid (she scanned the code just as time ran out).
    response = notify(transaction_resource(payment))
    repeat = notify(transaction_resource(payment))

    assert response.status_code == repeat.status_code == 204
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED and payment.captured_at is None
    assert payment.provider_trade_id == "4200000000000000000000000001"
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == payment.amount == 17600
    assert list(wechat["refunds"]) == [refund.out_refund_no]  # asked once, by the API
    assert set(PaymentNotification.objects.values_list("outcome", flat=True)) == {
        "refunded_expired"
    }
    with tenant_context(shops.a):
        assert Order.objects.get(pk=order.pk).status == Order.Status.EXPIRED
    connection.set_schema_to_public()
    assert SKU.objects.get(pk=item.sku_id).stock == 5


def test_a_late_payment_whose_refund_cannot_be_made_now_is_acknowledged_and_retried(
    shops, wechat, django_capture_on_commit_callbacks
):
    payment = payment_expire(payment=new_payment(shops))
    wechat["refund_down"] = True  # the refund API answers 500 for now

    with django_capture_on_commit_callbacks() as callbacks:
        response = notify(transaction_resource(payment))

    assert response.status_code == 204  # recorded: WeChat Pay need not keep retrying
    refund = Refund.objects.get(payment=payment)
    assert refund.status == Refund.Status.PENDING and "500" in refund.last_error
    assert PaymentNotification.objects.get().outcome == "refunded_expired"
    assert len(callbacks) == 1  # the refund is handed to a retrying task

    from billing.tasks import refund_submit_task

    wechat["refund_down"] = False
    refund_submit_task.apply(kwargs={"refund_id": refund.pk})

    refund.refresh_from_db()
    assert refund.status == Refund.Status.PROCESSING and refund.provider_refund_id
    assert list(wechat["refunds"]) == [refund.out_refund_no]


@pytest.mark.parametrize(
    "notification_id", ["EV-\x00-1", "EV-" + "9" * 10_000, "EV-\u202e-1", "EV-\n-1", ""]
)
def test_a_signed_notification_with_an_unstorable_id_gets_a_clean_400(
    shops, wechat, notification_id
):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment), notification_id=notification_id)

    assert response.status_code == 400
    assert response.text == "MalformedNotification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"out_trade_no": "VS\x00X"},
        {"transaction_id": "42" * 100},
        {"success_time": "2026-01-01T12:00:00"},  # no offset: not comparable with a deadline
        {"success_time": 20260101},
        {"amount": {"total": 10**30, "currency": "CNY"}},
        {"amount": [1]},
    ],
)
def test_signed_but_unusable_fields_get_a_clean_400(shops, wechat, changes):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment, **changes))

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


@pytest.mark.parametrize("nonce", [123456789012, None, ["a"]])
def test_a_resource_with_a_numeric_nonce_gets_a_clean_400(shops, wechat, nonce):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment), resource_changes={"nonce": nonce})

    assert response.status_code == 400
    assert response.text == "MalformedNotification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_a_signed_timestamp_of_unicode_digits_gets_a_clean_400(shops, wechat):
    payment = new_payment(shops)

    response = notify(transaction_resource(payment), timestamp_text="１７００００００００")

    assert response.status_code == 400
