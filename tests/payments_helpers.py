"""Shared makers for payment tests: a sandbox payment, its signed notification, a loopback API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 with HANDLER, on a free port; yields its base URL.

    Providers talk to it with `requests` as they would to the real API, so signing, headers
    and error answers go through the same code as in production.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
