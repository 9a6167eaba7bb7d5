"""Alipay (RSA2): notifications and gateway calls with keys made here, in the documented formats.

A small HTTP server on loopback plays the Alipay gateway: it verifies each request's RSA2 `sign`
over the sorted parameters with the app's public key and answers `<method>_response` objects
signed with "Alipay's" key, which the provider verifies.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.test import Client
from django.utils import timezone

from billing.models import Payment, PaymentNotification, Refund
from billing.payments import alipay, signing
from billing.payments.base import BadSignature, ChannelError, IncomingRequest, ProviderError
from billing.payments.registry import provider_get
from billing.services import payment_create, payment_expire, payment_refund

pytestmark = pytest.mark.django_db

APP_ID = "2014072300007148"
SELLER_ID = "2088102146225135"
APP_KEY = signing.private_key_generate()
ALIPAY_KEY = signing.private_key_generate()
NOTIFY = "/pay/notify/alipay/"


class FakeAlipayGateway(BaseHTTPRequestHandler):
    state: dict = {}

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, method: str, inner: dict) -> None:
        key = self.state.get("response_key", ALIPAY_KEY)
        inner_text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        sign = base64.b64encode(
            key.sign(inner_text.encode(), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        name = method.replace(".", "_") + "_response"
        body = f'{{"{name}":{inner_text},"sign":"{sign}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        method = params.get("method", "")
        try:
            assert params["app_id"] == APP_ID and params["sign_type"] == "RSA2"
            assert params["charset"] == "utf-8" and params["format"] == "JSON"
            content = "&".join(
                f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type")
            )
            APP_KEY.public_key().verify(
                base64.b64decode(params["sign"]),
                content.encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            self._answer(
                method,
                {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
            )
            return
        biz = json.loads(params["biz_content"])
        self.state["calls"].append((method, biz))
        trade = self.state["trades"].get(biz.get("out_trade_no"), {})
        if method == "alipay.trade.refund" and self.state.get("refuse_refunds"):
            self._answer(method, {"code": "40004", "msg": "Business Failed", "sub_code": "x"})
        elif method == "alipay.trade.refund":
            done = self.state["refunds"].setdefault(biz["out_request_no"], biz["refund_amount"])
            self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": "2013112011001004330000121536",
                    "out_trade_no": biz["out_trade_no"],
                    "buyer_logon_id": "159****5620",
                    "fund_change": "Y" if done == biz["refund_amount"] else "N",
                    "refund_fee": done,
                },
            )
        elif method == "alipay.trade.query":
            self._answer(
                method,
                {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": "2013112011001004330000121536",
                    "out_trade_no": biz["out_trade_no"],
                    "buyer_logon_id": "159****5620",
                    "trade_status": trade.get("trade_status", "WAIT_BUYER_PAY"),
                    "total_amount": trade.get("total_amount", "88.88"),
                },
            )
        else:
            self._answer(method, {"code": "40004", "msg": "Business Failed"})


@pytest.fixture(scope="module")
def gateway_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAlipayGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/gateway.do"
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(settings, gateway_url) -> dict:
    settings.ALIPAY_APP_ID = APP_ID
    settings.ALIPAY_SELLER_ID = SELLER_ID
    settings.ALIPAY_APP_PRIVATE_KEY = signing.private_key_pem(APP_KEY)
    settings.ALIPAY_PUBLIC_KEY = signing.public_key_pem(ALIPAY_KEY.public_key())
    settings.ALIPAY_GATEWAY_URL = gateway_url
    FakeAlipayGateway.state = {"calls": [], "trades": {}, "refunds": {}}
    return FakeAlipayGateway.state


def new_payment(shops, *, amount: int = 8888, channel: str = "") -> Payment:
    return payment_create(
        tenant=shops.a,
        order_number="A3001",
        amount=amount,
        provider="alipay",
        expires_at=timezone.now() + timedelta(minutes=30),
        description="Shop A 订单 A3001",
        return_url="http://a.localhost/orders/A3001/",
        channel=channel,
    )


def beijing(delta: timedelta = timedelta()) -> str:
    return alipay.alipay_time(timezone.now() + delta)


def trade_params(payment: Payment, **changes: str) -> dict[str, str]:
    """An asynchronous trade_status_sync notification's parameters, as documented."""
    total = changes.pop("total_amount", signing.fen_to_yuan(payment.amount))
    return {
        "gmt_create": beijing(timedelta(minutes=-2)),
        "charset": "utf-8",
        "seller_email": "zen_gwen@hotmail.com",
        "subject": "Shop A 订单",
        "buyer_id": "2088102122524333",
        "invoice_amount": total,
        "notify_id": secrets.token_hex(17),
        "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
        "notify_type": "trade_status_sync",
        "trade_status": "TRADE_SUCCESS",
        "receipt_amount": total,
        "app_id": APP_ID,
        "buyer_pay_amount": total,
        "seller_id": SELLER_ID,
        "gmt_payment": beijing(timedelta(minutes=-1)),
        "notify_time": beijing(),
        "version": "1.0",
        "out_trade_no": payment.out_trade_no,
        "total_amount": total,
        "trade_no": "2013112011001004330000121536",
        "auth_app_id": APP_ID,
        "buyer_logon_id": "159****5620",
        "point_amount": "0.00",
    } | changes


def signed(params: dict[str, str], key=None) -> dict[str, str]:
    """Sign as Alipay documents it, written out here independently of the provider's code."""
    content = "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v
    )
    raw = (key or ALIPAY_KEY).sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
    return params | {"sign_type": "RSA2", "sign": base64.b64encode(raw).decode()}


def notify(params: dict[str, str]):
    return Client(HTTP_HOST="localhost").post(
        NOTIFY,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def test_sign_content_is_sorted_pairs_without_sign_sign_type_or_empty_values():
    params = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "c": "", "d": "中 文"}

    assert alipay.sign_content(params) == "a=1&b=2&d=中 文"


def test_a_documented_notification_verifies_and_decodes(shops, gateway):
    payment = new_payment(shops)
    params = signed(trade_params(payment))

    n = provider_get("alipay").parse_notification(
        IncomingRequest(headers={}, body=urlencode(params).encode())
    )

    assert n.id == params["notify_id"]
    assert n.amount == 8888 and n.currency == "CNY"
    assert n.app_id == APP_ID and n.merchant_id == SELLER_ID
    assert n.provider_trade_id == "2013112011001004330000121536"


def test_payment_create_sends_the_buyer_to_a_signed_wap_pay_url(shops, gateway, gateway_url):
    payment = new_payment(shops)

    url = urlsplit(payment.checkout_url)
    params = dict(parse_qsl(url.query))
    assert payment.checkout_url.startswith(gateway_url + "?")
    assert params["method"] == "alipay.trade.wap.pay"
    assert params["notify_url"].endswith("/pay/notify/alipay/")
    biz = json.loads(params["biz_content"])
    assert biz["total_amount"] == "88.88" and biz["product_code"] == "QUICK_WAP_WAY"
    assert biz["out_trade_no"] == payment.out_trade_no
    signing.verify(APP_KEY.public_key(), alipay.sign_content(params).encode(), params["sign"])


def test_a_desktop_payment_goes_to_the_signed_page_pay_cashier(shops, gateway, gateway_url):
    payment = new_payment(shops, channel="page")

    params = dict(parse_qsl(urlsplit(payment.checkout_url).query))
    assert payment.checkout_url.startswith(gateway_url + "?")
    assert params["method"] == "alipay.trade.page.pay"
    assert params["return_url"] == "http://a.localhost/orders/A3001/"
    biz = json.loads(params["biz_content"])
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY" and biz["total_amount"] == "88.88"
    signing.verify(APP_KEY.public_key(), alipay.sign_content(params).encode(), params["sign"])
    with pytest.raises(ChannelError):
        new_payment(shops, channel="jsapi")


def test_a_good_notification_captures_once_and_replies_success(shops, gateway):
    payment = new_payment(shops)

    response = notify(signed(trade_params(payment)))

    assert response.status_code == 200
    assert response.content == b"success"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.provider_trade_id == "2013112011001004330000121536"


def test_a_bad_signature_gets_400_and_changes_nothing(shops, gateway):
    payment = new_payment(shops)
    forged = signed(trade_params(payment), key=signing.private_key_generate())
    tampered = signed(trade_params(payment)) | {"buyer_id": "2088000000000000"}
    unsigned = trade_params(payment)

    answers = [notify(p) for p in (forged, tampered, unsigned)]

    assert [a.status_code for a in answers] == [400, 400, 400]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()
    with pytest.raises(BadSignature):
        provider_get("alipay").parse_notification(
            IncomingRequest(headers={}, body=urlencode(forged).encode())
        )


def test_a_stale_notify_time_is_refused(shops, gateway):
    payment = new_payment(shops)

    stale = notify(signed(trade_params(payment, notify_time=beijing(timedelta(hours=-27)))))
    retried_within_the_day = notify(
        signed(trade_params(payment, notify_time=beijing(timedelta(hours=-20))))
    )

    assert stale.status_code == 400
    assert stale.text == "StaleNotification"
    assert retried_within_the_day.content == b"success"


def test_a_wrong_total_amount_is_refused_logged_and_not_captured(shops, gateway, caplog):
    payment = new_payment(shops)

    response = notify(signed(trade_params(payment, total_amount="0.01")))

    assert response.status_code == 200
    assert response.content == b"fail"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert PaymentNotification.objects.get().outcome == "refused_amount"
    assert any(r.levelname == "ERROR" and "REFUSED" in r.getMessage() for r in caplog.records)


def test_a_malformed_total_amount_gets_400(shops, gateway):
    payment = new_payment(shops)

    response = notify(signed(trade_params(payment, total_amount="88.888")))

    assert response.status_code == 400


def test_a_wrong_app_id_or_seller_id_is_refused(shops, gateway):
    payment = new_payment(shops)

    other_app = notify(signed(trade_params(payment, app_id="2014000000000000")))
    other_seller = notify(signed(trade_params(payment, seller_id="2088000000000001")))

    assert other_app.content == other_seller.content == b"fail"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_the_same_notification_ten_times_captures_once(shops, gateway):
    payment = new_payment(shops)
    params = signed(trade_params(payment))

    answers = [notify(params) for _ in range(10)]

    assert [a.content for a in answers] == [b"success"] * 10
    assert PaymentNotification.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_out_of_order_statuses_only_capture_on_success(shops, gateway):
    payment = new_payment(shops)

    waiting = notify(signed(trade_params(payment, trade_status="WAIT_BUYER_PAY")))
    closed = notify(signed(trade_params(payment, trade_status="TRADE_CLOSED")))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED

    success = notify(signed(trade_params(payment)))
    finished = notify(signed(trade_params(payment, trade_status="TRADE_FINISHED")))

    assert [r.content for r in (waiting, closed, success, finished)] == [b"success"] * 4
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    outcomes = list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["ignored", "ignored", "captured", "already_captured"]


def test_refund_goes_to_the_gateway_once_and_its_notification_confirms_it(shops, gateway):
    payment = new_payment(shops)
    notify(signed(trade_params(payment)))
    payment.refresh_from_db()

    refund = payment_refund(payment=payment, amount=1888, idempotency_key="return:A3001:1")
    again = payment_refund(payment=payment, amount=1888, idempotency_key="return:A3001:1")

    assert again.pk == refund.pk
    calls = [c for c in gateway["calls"] if c[0] == "alipay.trade.refund"]
    assert calls == [
        (
            "alipay.trade.refund",
            {
                "out_trade_no": payment.out_trade_no,
                "refund_amount": "18.88",
                "out_request_no": refund.out_refund_no,
            },
        )
    ]
    assert refund.status == Refund.Status.SUCCEEDED

    # Alipay tells of a partial refund with the trade still TRADE_SUCCESS: not a second capture.
    told = notify(
        signed(
            trade_params(
                payment,
                refund_fee="18.88",
                gmt_refund=beijing() + ".000",
                out_biz_no=refund.out_refund_no,
            )
        )
    )

    assert told.content == b"success"
    assert PaymentNotification.objects.order_by("-pk").first().outcome == "refund_confirmed"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED


def test_a_notification_for_an_expired_payment_refunds_through_the_gateway(shops, gateway):
    payment = payment_expire(payment=new_payment(shops))

    response = notify(signed(trade_params(payment)))
    finished = notify(signed(trade_params(payment, trade_status="TRADE_FINISHED")))

    assert response.content == finished.content == b"success"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert payment.captured_at is None
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == 8888 and refund.status == Refund.Status.SUCCEEDED
    assert gateway["refunds"] == {refund.out_refund_no: "88.88"}


def test_query_asks_the_gateway(shops, gateway):
    payment = new_payment(shops)
    gateway["trades"][payment.out_trade_no] = {
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.88",
    }

    state = provider_get("alipay").query(payment)

    assert state.paid and state.amount == 8888 and state.status == "TRADE_SUCCESS"


def test_a_gateway_answer_with_a_bad_signature_is_not_trusted(shops, gateway):
    payment = new_payment(shops)
    gateway["response_key"] = signing.private_key_generate()

    with pytest.raises(ProviderError, match="not verified"):
        provider_get("alipay").query(payment)


# --- issue 11: signed notifications that must never give a 500 -----------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"notify_id": "ac05\x00099524730693"},
        {"notify_id": "a" * 10_240},
        {"notify_id": "ac05\u202e0995"},
        {"out_trade_no": "VS\x00X"},
        {"trade_no": "2013" * 100},
    ],
)
def test_a_signed_notification_with_unstorable_fields_gets_a_clean_400(shops, gateway, changes):
    payment = new_payment(shops)

    response = notify(signed(trade_params(payment, **changes)))

    assert response.status_code == 400
    assert response.text == "MalformedNotification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()


def test_a_late_payment_whose_refund_the_gateway_refuses_is_acknowledged(shops, gateway):
    payment = payment_expire(payment=new_payment(shops))
    gateway["refuse_refunds"] = True

    response = notify(signed(trade_params(payment)))

    assert (response.status_code, response.content) == (200, b"success")
    refund = Refund.objects.get(payment=payment)
    assert refund.status == Refund.Status.PENDING and "40004" in refund.last_error
    assert PaymentNotification.objects.get().outcome == "refunded_expired"
