"""The sandbox provider: a hosted pay page on the platform site and signed notifications.

It behaves like an outside provider so development and tests run the production path: the buyer
pays on /pay/sandbox/<out_trade_no>/, the sandbox books it in its own table (SandboxTrade), and a
Celery task POSTs an RSA-signed notification to the notify URL it was given when the payment was
created. The notification is verified exactly like WeChat Pay's: SHA256withRSA over
"timestamp\\nnonce\\nbody\\n", a timestamp no more than five minutes old.

Notification wire format (JSON body, UTF-8)::

    {"id": "<unique>", "event": "paid" | "closed" | "refund_succeeded",
     "merchant_id": "...", "out_trade_no": "...", "trade_id": "...",
     "amount": <fen>, "currency": "CNY", "occurred_at": "<ISO 8601>",
     "out_refund_no": "...", "refund_id": "..."}          (the last two for refunds only)

with headers X-Sandbox-Timestamp (Unix seconds), X-Sandbox-Nonce and X-Sandbox-Signature.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from . import signing
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
    from billing.models import Payment, SandboxTrade

NAME = "sandbox"
MAX_AGE_SECONDS = 300
_EVENTS = {e.value: e for e in (Event.PAID, Event.CLOSED, Event.REFUND_SUCCEEDED)}


def sandbox_private_key() -> signing.PrivateKey:
    """VSTORE_SANDBOX_PRIVATE_KEY, or a key made under VSTORE_VAR_DIR on first use."""
    if settings.VSTORE_SANDBOX_PRIVATE_KEY:
        return signing.private_key_load(settings.VSTORE_SANDBOX_PRIVATE_KEY)
    return signing.private_key_file_ensure(Path(settings.VAR_DIR) / "payments" / "sandbox.pem")


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def notification_sign(
    body: bytes, *, key: signing.PrivateKey, timestamp: int | None = None
) -> dict[str, str]:
    """The headers that make `body` a sandbox notification (what the sandbox sender does)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    return {
        "X-Sandbox-Timestamp": ts,
        "X-Sandbox-Nonce": nonce,
        "X-Sandbox-Signature": signing.sign(key, signed_message(ts, nonce, body)),
    }


def notification_body(
    trade: SandboxTrade,
    *,
    event: str,
    merchant_id: str,
    notification_id: str | None = None,
    amount: int | None = None,
    out_refund_no: str = "",
    refund_id: str = "",
) -> bytes:
    payload = {
        "id": notification_id or f"SBN{uuid.uuid4().hex}",
        "event": event,
        "merchant_id": merchant_id,
        "out_trade_no": trade.out_trade_no,
        "trade_id": trade.trade_id,
        "amount": trade.amount if amount is None else amount,
        "currency": trade.currency,
        # When the buyer paid, not when this is sent: a delivery retried past the deadline
        # still tells of a payment made in time.
        "occurred_at": (
            trade.paid_at if event == Event.PAID.value and trade.paid_at else timezone.now()
        ).isoformat(),
    }
    if out_refund_no:
        payload |= {"out_refund_no": out_refund_no, "refund_id": refund_id}
    return json.dumps(payload, separators=(",", ":")).encode()


class SandboxProvider(PaymentProvider):
    name = NAME
    # It stands in for every provider's channels (one pay page for all of them), so the
    # checkout's channel logic runs the same in development and tests.
    channels = ("native", "jsapi", "h5", "wap", "page")

    def __init__(self, *, private_key: signing.PrivateKey, merchant_id: str) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.merchant_id = merchant_id

    def create_payment(
        self,
        payment: Payment,
        *,
        description: str,
        return_url: str,
        channel: str = "",
        payer: Payer | None = None,
    ) -> Checkout:
        # One pay page stands in for every channel: `channel` and `payer` change nothing here.
        from billing.models import SandboxTrade

        trade, _created = SandboxTrade.objects.get_or_create(
            out_trade_no=payment.out_trade_no,
            defaults={
                "trade_id": f"SBX{uuid.uuid4().hex[:24].upper()}",
                "amount": payment.amount,
                "currency": payment.currency,
                "description": description[:128],
                "notify_url": notify_url(NAME),
                "return_url": return_url,
                "expires_at": payment.expires_at,
            },
        )
        # The pay page is on the platform site, whatever URLconf the caller runs under.
        path = reverse(
            "billing:sandbox-pay",
            args=[trade.out_trade_no],
            urlconf=settings.PUBLIC_SCHEMA_URLCONF,
        )
        return Checkout(url=f"{settings.VSTORE_PAYMENT_NOTIFY_BASE_URL}{path}")

    def parse_notification(self, request: IncomingRequest) -> Notification:
        ts = request.header("X-Sandbox-Timestamp")
        nonce = request.header("X-Sandbox-Nonce")
        signature = request.header("X-Sandbox-Signature")
        if not (ts and nonce and signature):
            raise BadSignature("missing X-Sandbox-Timestamp, -Nonce or -Signature")
        signing.verify(self.public_key, signed_message(ts, nonce, request.body), signature)
        if not signing.unix_seconds_valid(ts):
            raise MalformedNotification("timestamp is not Unix seconds")
        if abs(time.time() - int(ts)) > MAX_AGE_SECONDS:
            raise StaleNotification(f"timestamp {ts} is more than five minutes away")
        try:
            data = json.loads(request.body)
            event = _EVENTS.get(data["event"], Event.OTHER)
            amount = data["amount"]
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise MalformedNotification("amount is not a number of fen")
            return Notification(
                provider=NAME,
                id=str(data["id"]),
                event=event,
                raw_event=str(data["event"]),
                out_trade_no=str(data["out_trade_no"]),
                amount=amount,
                currency=str(data["currency"]),
                merchant_id=str(data["merchant_id"]),
                app_id="",
                provider_trade_id=str(data["trade_id"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                out_refund_no=str(data.get("out_refund_no", "")),
                provider_refund_id=str(data.get("refund_id", "")),
                data=data,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedNotification(f"not a sandbox notification: {exc}") from exc

    def acknowledgement(self, *, accepted: bool) -> Acknowledgement:
        if accepted:
            return Acknowledgement(200, b'{"status":"ok"}', "application/json")
        return Acknowledgement(400, b'{"status":"refused"}', "application/json")

    def query(self, payment: Payment) -> TradeState:
        from billing.models import SandboxTrade

        trade = SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).first()
        if trade is None:
            raise ProviderError(f"sandbox has no trade {payment.out_trade_no}")
        return TradeState(
            out_trade_no=trade.out_trade_no,
            paid=trade.status == SandboxTrade.Status.PAID,
            status=trade.status,
            amount=trade.amount,
            provider_trade_id=trade.trade_id,
            paid_at=trade.paid_at,
        )

    def refund(
        self, payment: Payment, *, amount: int, out_refund_no: str, reason: str = ""
    ) -> RefundResult:
        from billing.models import SandboxTrade

        refund_id = "SBR" + hashlib.sha256(out_refund_no.encode()).hexdigest()[:24].upper()
        with transaction.atomic():
            trade = (
                SandboxTrade.objects.select_for_update()
                .filter(out_trade_no=payment.out_trade_no)
                .first()
            )
            if trade is None or trade.status != SandboxTrade.Status.PAID:
                raise ProviderError(f"sandbox trade {payment.out_trade_no} is not paid")
            if out_refund_no in trade.refunds:
                return RefundResult(provider_refund_id=refund_id, succeeded=True)
            if trade.refunded_amount + amount > trade.amount:
                raise ProviderError("refund exceeds what the buyer paid")
            trade.refunds[out_refund_no] = amount
            trade.refunded_amount += amount
            trade.save(update_fields=["refunds", "refunded_amount"])
        return RefundResult(provider_refund_id=refund_id, succeeded=True)


def sandbox_provider_build() -> SandboxProvider:
    return SandboxProvider(
        private_key=sandbox_private_key(), merchant_id=settings.VSTORE_SANDBOX_MERCHANT_ID
    )
