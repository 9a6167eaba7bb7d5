"""WeChat Pay API v3 (直连商户), with `cryptography` and `requests` directly.

Notifications: the body is JSON whose `resource` is encrypted with AEAD_AES_256_GCM under the
APIv3 key; the headers Wechatpay-Timestamp, -Nonce, -Signature and -Serial carry a SHA256withRSA
signature over "timestamp\\nnonce\\nbody\\n" made with the WeChat Pay public key named by the
serial. A timestamp more than five minutes away is refused. Success is answered with 204 and no
body; a refusal with 4xx and {"code": "FAIL", "message": ...}, which makes WeChat Pay retry.

Requests to the API are signed with the merchant's API private key: the Authorization header is
`WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`,
the signature over "METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n". Responses are signed like
notifications and are verified the same way.

Orders are placed through one of three channels: Native (a QR code, the default), JSAPI (inside
WeChat) and H5 (other phone browsers); the latter two are in `wechatpay_client_pay`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils import timezone

from . import signing
from . import wechatpay_client_pay as client_pay
from .base import (
    Acknowledgement,
    BadSignature,
    Checkout,
    Event,
    IncomingRequest,
    MalformedNotification,
    Notification,
    Payer,
    PaymentProvider,
    ProviderError,
    RefundResult,
    StaleNotification,
    TradeState,
    notify_url,
)

if TYPE_CHECKING:
    from billing.models import Payment

NAME = "wechatpay"
MAX_AGE_SECONDS = 300
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
_EVENTS = {
    "TRANSACTION.SUCCESS": Event.PAID,
    "REFUND.SUCCESS": Event.REFUND_SUCCEEDED,
    "REFUND.ABNORMAL": Event.REFUND_FAILED,
    "REFUND.CLOSED": Event.REFUND_FAILED,
}


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def request_message(method: str, path: str, timestamp: str, nonce: str, body: str) -> bytes:
    return f"{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n".encode()


def authorization_parse(header: str) -> dict[str, str]:
    """`WECHATPAY2-SHA256-RSA2048 k="v",…` → {k: v}; raises ValueError on anything else."""
    schema, _, rest = header.partition(" ")
    if schema != SCHEMA:
        raise ValueError(f"not {SCHEMA}")
    out = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or len(value) < 2 or value[0] != '"' or value[-1] != '"':
            raise ValueError(f"bad Authorization part {part!r}")
        out[key] = value[1:-1]
    return out


def resource_decrypt(api_v3_key: bytes, resource: dict[str, Any]) -> dict[str, Any]:
    """Decrypt a notification's AEAD_AES_256_GCM `resource` into the object it carries."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise MalformedNotification(f"unknown algorithm {resource.get('algorithm')!r}")
    # Each is documented as a string; a number (a "nonce": 123456789012) is refused here rather
    # than guessed at: str() would drop leading zeros and decrypt with the wrong nonce anyway.
    encoded = resource.get("ciphertext")
    nonce = resource.get("nonce")
    associated = resource.get("associated_data") or ""
    if not (isinstance(encoded, str) and isinstance(nonce, str) and isinstance(associated, str)):
        raise MalformedNotification("resource ciphertext, nonce or associated_data not a string")
    try:
        ciphertext = base64.b64decode(encoded, validate=True)
        plain = AESGCM(api_v3_key).decrypt(nonce.encode(), ciphertext, associated.encode())
        return json.loads(plain)
    except InvalidTag as exc:
        # Authenticated encryption: a wrong tag means the resource was not made with our key.
        raise BadSignature("resource does not decrypt with the APIv3 key") from exc
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise MalformedNotification(f"bad resource: {exc}") from exc


def resource_encrypt(api_v3_key: bytes, data: dict[str, Any], *, associated_data: str) -> dict:
    """The `resource` object for `data` (what WeChat Pay sends; used by tests and tools)."""
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's nonces are
    ciphertext = AESGCM(api_v3_key).encrypt(
        nonce.encode(), json.dumps(data).encode(), associated_data.encode()
    )
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def _rfc3339(value: datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


class WeChatPayProvider(PaymentProvider):
    name = NAME
    channels = client_pay.CHANNELS

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        private_key: signing.PrivateKey,
        cert_serial_no: str,
        public_key: signing.PublicKey,
        public_key_id: str,
        api_v3_key: bytes,
        base_url: str,
        timeout: float = 10.0,
    ) -> None:
        if len(api_v3_key) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self.merchant_id = mchid
        self.app_id = appid
        self.private_key = private_key
        self.cert_serial_no = cert_serial_no
        self.public_key = public_key
        self.public_key_id = public_key_id
        self.api_v3_key = api_v3_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # --- notifications -------------------------------------------------------------------------

    def _verify(self, headers: IncomingRequest) -> None:
        ts = headers.header("Wechatpay-Timestamp")
        nonce = headers.header("Wechatpay-Nonce")
        signature = headers.header("Wechatpay-Signature")
        serial = headers.header("Wechatpay-Serial")
        if not (ts and nonce and signature and serial):
            raise BadSignature("missing a Wechatpay-* signature header")
        if serial != self.public_key_id:
            raise BadSignature(f"Wechatpay-Serial {serial!r} is not our WeChat Pay key")
        signing.verify(self.public_key, signed_message(ts, nonce, headers.body), signature)
        if not signing.unix_seconds_valid(ts):
            raise MalformedNotification("Wechatpay-Timestamp is not Unix seconds")
        if abs(time.time() - int(ts)) > MAX_AGE_SECONDS:
            raise StaleNotification(f"Wechatpay-Timestamp {ts} is more than five minutes away")

    def parse_notification(self, request: IncomingRequest) -> Notification:
        self._verify(request)
        try:
            envelope = json.loads(request.body)
            event_type = str(envelope["event_type"])
            notification_id = str(envelope["id"])
            resource = envelope["resource"]
            if not isinstance(resource, dict):
                raise TypeError("resource is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedNotification(f"not a WeChat Pay notification: {exc}") from exc
        data = resource_decrypt(self.api_v3_key, resource)
        event = _EVENTS.get(event_type, Event.OTHER)
        try:
            amount = data.get("amount") or {}
            if event is Event.PAID and data.get("trade_state") != "SUCCESS":
                event = Event.OTHER
            is_refund = event in (Event.REFUND_SUCCEEDED, Event.REFUND_FAILED)
            fen = amount.get("refund") if is_refund else amount.get("total")
            if fen is not None and (not isinstance(fen, int) or isinstance(fen, bool) or fen < 0):
                raise MalformedNotification("amount is not a number of fen")
            when = data.get("success_time")
            return Notification(
                provider=NAME,
                id=notification_id,
                event=event,
                raw_event=event_type,
                out_trade_no=str(data["out_trade_no"]),
                amount=fen,
                currency=str(amount.get("currency", "CNY")),
                merchant_id=str(data.get("mchid", "")),
                app_id=str(data.get("appid", "")),
                provider_trade_id=str(data.get("transaction_id", "")),
                occurred_at=datetime.fromisoformat(when) if when else None,
                out_refund_no=str(data.get("out_refund_no", "")),
                provider_refund_id=str(data.get("refund_id", "")),
                data=data,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedNotification(f"bad WeChat Pay resource: {exc}") from exc

    def acknowledgement(self, *, accepted: bool) -> Acknowledgement:
        if accepted:
            return Acknowledgement(204)
        body = json.dumps({"code": "FAIL", "message": "refused"}).encode()
        return Acknowledgement(400, body, "application/json")

    # --- API ------------------------------------------------------------------------------------

    def authorization(self, method: str, path: str, body: str) -> str:
        ts = str(int(time.time()))
        nonce = secrets.token_hex(16)
        signature = signing.sign(self.private_key, request_message(method, path, ts, nonce, body))
        return (
            f'{SCHEMA} mchid="{self.merchant_id}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{ts}",serial_no="{self.cert_serial_no}"'
        )

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        headers = {
            "Authorization": self.authorization(method, path, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "VStore/1.0",
            "Wechatpay-Serial": self.public_key_id,
        }
        try:
            response = requests.request(
                method,
                self.base_url + path,
                data=body.encode() if body else None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"WeChat Pay unreachable: {exc}") from exc
        lowered = {k.lower(): v for k, v in response.headers.items()}
        try:
            # A response we cannot verify is treated like no response: it may not be WeChat's.
            self._verify(IncomingRequest(headers=lowered, body=response.content))
        except (BadSignature, StaleNotification, MalformedNotification) as exc:
            raise ProviderError(f"WeChat Pay response not verified: {exc}") from exc
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # Signed yet not a JSON object: nothing in it can be trusted to mean anything.
            raise ProviderError(
                f"WeChat Pay {response.status_code} answer is not a JSON object",
                status=response.status_code,
            )
        if response.status_code >= 400:
            code = str(data.get("code", ""))
            raise ProviderError(
                f"WeChat Pay {response.status_code} {code}: {data.get('message')}",
                status=response.status_code,
                code=code,
            )
        return data

    def channel_check(self, channel: str, payer: Payer | None = None) -> None:
        super().channel_check(channel, payer)
        client_pay.channel_payload(channel or client_pay.NATIVE, payer)

    def create_payment(
        self,
        payment: Payment,
        *,
        description: str,
        return_url: str,
        channel: str = "",
        payer: Payer | None = None,
    ) -> Checkout:
        """Native by default (a QR code); "jsapi" inside WeChat with `payer.openid`; "h5" in
        other phone browsers with `payer.client_ip`. See `wechatpay_client_pay`."""
        channel = channel or client_pay.NATIVE
        # Before the request: a channel that cannot be placed is the caller's to fix.
        extra = client_pay.channel_payload(channel, payer)
        order = {
            "appid": self.app_id,
            "mchid": self.merchant_id,
            "description": description[:127],
            "out_trade_no": payment.out_trade_no,
            "time_expire": _rfc3339(payment.expires_at),
            "notify_url": notify_url(NAME),
            "amount": {"total": payment.amount, "currency": payment.currency},
        }
        try:
            data = self._call("POST", client_pay.PATHS[channel], order | extra)
        except ProviderError as exc:
            if exc.code != "NO_AUTH":
                raise
            # The usual cause is an account setting, not our request: say which, for the logs.
            raise ProviderError(
                f"{exc} (the merchant account may not use WeChat Pay {channel}: the product must "
                "be enabled, and for h5 and jsapi the site's domain registered with WeChat Pay)",
                status=exc.status,
                code=exc.code,
            ) from exc
        answer = data.get(client_pay.ANSWER_FIELDS[channel])
        if not isinstance(answer, str) or not answer:
            field_name = client_pay.ANSWER_FIELDS[channel]
            raise ProviderError(f"WeChat Pay answered the {channel} order without a {field_name}")
        if channel == client_pay.JSAPI:
            package = client_pay.PACKAGE_PREFIX + answer
            return Checkout(url=package, kind="jsapi", params=self.jsapi_pay_params(package))
        if channel == client_pay.H5:
            return Checkout(url=client_pay.h5_redirect(answer, return_url), kind="redirect")
        return Checkout(url=answer, kind="qrcode")

    def jsapi_pay_params(self, package: str) -> dict[str, str]:
        """Fresh getBrandWCPayRequest parameters for a JSAPI checkout's `package` (its url)."""
        return client_pay.jsapi_pay_params(self.private_key, app_id=self.app_id, package=package)

    def query(self, payment: Payment) -> TradeState:
        path = (
            f"/v3/pay/transactions/out-trade-no/{quote(payment.out_trade_no, safe='')}?"
            + urlencode({"mchid": self.merchant_id})
        )
        data = self._call("GET", path)
        paid_at = data.get("success_time")
        return TradeState(
            out_trade_no=data.get("out_trade_no", payment.out_trade_no),
            paid=data.get("trade_state") == "SUCCESS",
            status=str(data.get("trade_state", "")),
            amount=(data.get("amount") or {}).get("total"),
            provider_trade_id=str(data.get("transaction_id", "")),
            paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
        )

    def refund(
        self, payment: Payment, *, amount: int, out_refund_no: str, reason: str = ""
    ) -> RefundResult:
        payload: dict[str, Any] = {
            "out_trade_no": payment.out_trade_no,
            "out_refund_no": out_refund_no,
            "notify_url": notify_url(NAME),
            "amount": {"refund": amount, "total": payment.amount, "currency": payment.currency},
        }
        if reason:
            payload["reason"] = reason[:80]
        data = self._call("POST", "/v3/refund/domestic/refunds", payload)
        status = data.get("status")
        if status not in ("SUCCESS", "PROCESSING") or not data.get("refund_id"):
            raise ProviderError(f"WeChat Pay refund {out_refund_no} is {status}")
        return RefundResult(provider_refund_id=data["refund_id"], succeeded=status == "SUCCESS")


def wechatpay_provider_build() -> WeChatPayProvider:
    return WeChatPayProvider(
        mchid=settings.WECHATPAY_MCHID,
        appid=settings.WECHATPAY_APPID,
        private_key=signing.private_key_load(settings.WECHATPAY_PRIVATE_KEY),
        cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
        public_key=signing.public_key_load(settings.WECHATPAY_PUBLIC_KEY),
        public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
        api_v3_key=settings.WECHATPAY_API_V3_KEY.encode(),
        base_url=settings.WECHATPAY_BASE_URL,
        timeout=settings.VSTORE_PAYMENT_HTTP_TIMEOUT,
    )
