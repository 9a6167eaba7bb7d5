"""Alipay (开放平台, RSA2), with `cryptography` and `requests` directly.

Notifications arrive as a form POST. They are verified as Alipay documents it: drop `sign` and
`sign_type` (and empty values), sort the rest by name, join them as `k=v` with `&`, and check
`sign` (base64 SHA256withRSA) with the Alipay public key. Then app_id, seller_id, out_trade_no and
total_amount must match ours. The answer is exactly `success`; anything else makes Alipay resend
(for 25 hours), which is what a refusal should do.

API calls (query, refund) POST signed common parameters plus a JSON `biz_content` to the gateway;
the answer's `<method>_response` object is verified against its `sign` over the raw JSON text.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from . import signing
from .base import (
    Acknowledgement,
    BadSignature,
    ChannelError,
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

NAME = "alipay"
# Alipay's times are Beijing time without an offset.
BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_STATUSES = {
    "TRADE_SUCCESS": Event.PAID,
    # The refund period is over (or the product allows none): still a paid trade.
    "TRADE_FINISHED": Event.PAID,
    "TRADE_CLOSED": Event.CLOSED,
    "WAIT_BUYER_PAY": Event.PENDING,
}


def sign_content(params: dict[str, str]) -> str:
    """The documented string to sign: sorted `k=v` joined by `&`, without sign/sign_type/empties."""
    return "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v != ""
    )


def params_sign(params: dict[str, str], key: signing.PrivateKey) -> dict[str, str]:
    """`params` plus sign_type=RSA2 and their `sign` (what Alipay and our requests send)."""
    signed = dict(params, sign_type="RSA2")
    signed["sign"] = signing.sign(key, sign_content(signed).encode())
    return signed


def alipay_time(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime(TIME_FORMAT)


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError as exc:
        raise MalformedNotification(f"not an Alipay time: {text!r}") from exc


def response_content(raw: str, key: str) -> str:
    """The exact JSON text of `raw[key]`: what Alipay signed in an API answer."""
    decoder = json.JSONDecoder()
    marker = f'"{key}"'
    start = raw.find(marker)
    if start < 0:
        raise ProviderError(f"Alipay answer has no {key}")
    colon = raw.index(":", start + len(marker)) + 1
    while raw[colon].isspace():
        colon += 1
    _obj, end = decoder.raw_decode(raw, colon)
    return raw[colon:end]


# Each channel's API method and the product code its contract is signed for (both required).
_PAY_METHODS = {
    "wap": ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
}


class AlipayProvider(PaymentProvider):
    name = NAME
    # Phone browsers' pay page (手机网站支付) and the desktop cashier (电脑网站支付): the same
    # signed redirect to the gateway, each with the method and product code Alipay names.
    channels = ("wap", "page")

    def __init__(
        self,
        *,
        app_id: str,
        seller_id: str,
        app_private_key: signing.PrivateKey,
        alipay_public_key: signing.PublicKey,
        gateway_url: str,
        max_age_seconds: int,
        timeout: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self.merchant_id = seller_id
        self.app_private_key = app_private_key
        self.alipay_public_key = alipay_public_key
        self.gateway_url = gateway_url
        self.max_age = timedelta(seconds=max_age_seconds)
        self.timeout = timeout

    # --- notifications -------------------------------------------------------------------------

    def parse_notification(self, request: IncomingRequest) -> Notification:
        try:
            text = request.body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedNotification(f"not a form body: {exc}") from exc
        params = dict(pairs)
        if len(params) != len(pairs):
            raise MalformedNotification("a parameter is repeated")
        if params.get("sign_type", "RSA2") != "RSA2" or not params.get("sign"):
            raise BadSignature("not an RSA2-signed notification")
        signing.verify(self.alipay_public_key, sign_content(params).encode(), params["sign"])

        sent_at = _parse_time(params.get("notify_time", ""))
        if sent_at is None:
            raise MalformedNotification("no notify_time")
        if timezone.now() - sent_at > self.max_age:
            raise StaleNotification(f"notify_time {params['notify_time']} is too old")
        try:
            status = params.get("trade_status", "")
            event = _STATUSES.get(status, Event.OTHER)
            refund_fee = params.get("refund_fee", "")
            # A refund is told as a notification carrying refund_fee and gmt_refund; the trade
            # stays TRADE_SUCCESS (partial) or becomes TRADE_CLOSED (full).
            is_refund = bool(refund_fee and params.get("gmt_refund"))
            if is_refund:
                event = Event.REFUND_SUCCEEDED
            amount_text = refund_fee if is_refund else params.get("total_amount", "")
            return Notification(
                provider=NAME,
                id=params["notify_id"],
                event=event,
                raw_event=status,
                out_trade_no=params["out_trade_no"],
                amount=signing.yuan_to_fen(amount_text) if amount_text else None,
                currency="CNY",
                merchant_id=params.get("seller_id", ""),
                app_id=params.get("app_id", ""),
                provider_trade_id=params.get("trade_no", ""),
                occurred_at=_parse_time(params.get("gmt_payment", "")),
                out_refund_no=params.get("out_biz_no", "") if is_refund else "",
                data=params,
            )
        except KeyError as exc:
            raise MalformedNotification(f"missing {exc}") from exc

    def acknowledgement(self, *, accepted: bool) -> Acknowledgement:
        return Acknowledgement(200, b"success" if accepted else b"fail")

    # --- API ------------------------------------------------------------------------------------

    def _common(self, method: str, biz: dict[str, Any], **extra: str) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "timestamp": alipay_time(timezone.now()),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            **extra,
        }
        return params_sign(params, self.app_private_key)

    def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        try:
            response = requests.post(
                self.gateway_url,
                data=self._common(method, biz),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"Alipay unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ProviderError(f"Alipay answered HTTP {response.status_code}")
        raw = response.content.decode("utf-8")
        key = method.replace(".", "_") + "_response"
        try:
            whole = json.loads(raw)
            content = response_content(raw, key)
        except ValueError as exc:
            raise ProviderError(f"Alipay answer is not JSON: {exc}") from exc
        data = whole[key]
        if data.get("code") != "10000":
            raise ProviderError(
                f"Alipay {method}: {data.get('code')} {data.get('sub_code')} {data.get('sub_msg')}"
            )
        try:
            signing.verify(self.alipay_public_key, content.encode(), whole.get("sign", ""))
        except BadSignature as exc:
            raise ProviderError(f"Alipay answer not verified: {exc}") from exc
        return data

    def create_payment(
        self,
        payment: Payment,
        *,
        description: str,
        return_url: str,
        channel: str = "",
        payer: Payer | None = None,
    ) -> Checkout:
        """alipay.trade.wap.pay (a phone, the default) or alipay.trade.page.pay (a desktop):
        the buyer's browser goes to the gateway with signed params."""
        if channel not in ("", *self.channels):
            raise ChannelError(f"Alipay has no {channel!r} channel here (only 'wap', 'page')")
        method, product = _PAY_METHODS[channel or "wap"]
        biz = {
            "out_trade_no": payment.out_trade_no,
            "total_amount": signing.fen_to_yuan(payment.amount),
            "subject": description[:256],
            "product_code": product,
            "time_expire": alipay_time(payment.expires_at),
        }
        extra = {"notify_url": notify_url(NAME)}
        if return_url:
            extra["return_url"] = return_url
        params = self._common(method, biz, **extra)
        return Checkout(url=f"{self.gateway_url}?{urlencode(params)}")

    def query(self, payment: Payment) -> TradeState:
        data = self._call("alipay.trade.query", {"out_trade_no": payment.out_trade_no})
        status = str(data.get("trade_status", ""))
        total = data.get("total_amount")
        return TradeState(
            out_trade_no=str(data.get("out_trade_no", payment.out_trade_no)),
            paid=status in ("TRADE_SUCCESS", "TRADE_FINISHED"),
            status=status,
            amount=signing.yuan_to_fen(total) if total else None,
            provider_trade_id=str(data.get("trade_no", "")),
            paid_at=_parse_time(str(data.get("send_pay_date", ""))),
        )

    def refund(
        self, payment: Payment, *, amount: int, out_refund_no: str, reason: str = ""
    ) -> RefundResult:
        biz = {
            "out_trade_no": payment.out_trade_no,
            "refund_amount": signing.fen_to_yuan(amount),
            # Alipay's idempotency key for partial refunds: the same number refunds once.
            "out_request_no": out_refund_no,
        }
        if reason:
            biz["refund_reason"] = reason[:256]
        data = self._call("alipay.trade.refund", biz)
        return RefundResult(
            provider_refund_id=f"{data.get('trade_no', '')}:{out_refund_no}", succeeded=True
        )


def alipay_provider_build() -> AlipayProvider:
    return AlipayProvider(
        app_id=settings.ALIPAY_APP_ID,
        seller_id=settings.ALIPAY_SELLER_ID,
        app_private_key=signing.private_key_load(settings.ALIPAY_APP_PRIVATE_KEY),
        alipay_public_key=signing.public_key_load(settings.ALIPAY_PUBLIC_KEY),
        gateway_url=settings.ALIPAY_GATEWAY_URL,
        max_age_seconds=settings.ALIPAY_NOTIFY_MAX_AGE_SECONDS,
        timeout=settings.VSTORE_PAYMENT_HTTP_TIMEOUT,
    )
