"""Shared makers for payment tests: a sandbox payment and its signed notification."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from billing.models import Payment, SandboxTrade
from billing.payments import sandbox, signing
from billing.services import (
    payment_create,
)

NOTIFY = "/pay/notify/sandbox/"


def platform() -> Client:
    return Client(HTTP_HOST="localhost")


def new_payment(shops, *, amount: int = 8800, minutes: int = 30, order: str = "A1001") -> Payment:
    return payment_create(
        tenant=shops.a,
        order_number=order,
        amount=amount,
        provider="sandbox",
        expires_at=timezone.now() + timedelta(minutes=minutes),
        description="Shop A order",
    )


def post_notification(
    payment: Payment,
    *,
    event: str = "paid",
    notification_id: str | None = None,
    amount: int | None = None,
    merchant_id: str | None = None,
    timestamp: int | None = None,
    key: signing.PrivateKey | None = None,
    tamper: bool = False,
    client: Client | None = None,
    **extra: str,
):
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    body = sandbox.notification_body(
        trade,
        event=event,
        merchant_id=merchant_id or "vstore-sandbox",
        notification_id=notification_id,
        amount=amount,
        **extra,
    )
    headers = sandbox.notification_sign(
        body, key=key or sandbox.sandbox_private_key(), timestamp=timestamp
    )
    if tamper:
        body = body.replace(b'"amount":', b'"amount":1')
    return (client or platform()).post(
        NOTIFY,
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items()},
    )
