"""Helpers for the open API's tests: tokens, a JSON client call, shop orders, and a webhook
receiver that is a real HTTP server on loopback (no mock of the HTTP client)."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.supplierapi.services import SUPPLIER_SCOPES, supplier_token_create
from storefront.models import Fan, Order, OrderLine
from storefront.shopapi.services import SHOP_SCOPES, shop_token_create


def shop_token(shop, scopes=SHOP_SCOPES, name: str = "ERP") -> str:
    with tenant_context(shop):
        _row, plain = shop_token_create(name=name, scopes=scopes)
    return plain


def supplier_token(supplier, scopes=SUPPLIER_SCOPES, name: str = "WMS") -> str:
    _row, plain = supplier_token_create(supplier=supplier, name=name, scopes=scopes)
    return plain


def call(
    client: Client,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    *,
    key: str | None = None,
    raw: bytes | None = None,
):
    """One API request; BODY is sent as JSON (RAW as given)."""
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs.update(data=data, content_type="application/json")
    return getattr(client, method.lower())(path, **kwargs)


def shop_order_make(
    shop, *, status: str = Order.Status.PAID, days_ago: int = 0, listing_item=None, **kw: Any
) -> Order:
    """An order row in SHOP as checkout leaves it (one line when LISTING_ITEM is given)."""
    with tenant_context(shop):
        mobile = kw.pop("mobile", None) or f"139{uuid.uuid4().int % 10**8:08d}"
        fan = Fan.objects.create(mobile=mobile, email=kw.pop("email", ""))
        order = Order.objects.create(
            number=uuid.uuid4().hex[:16].upper(),
            status=status,
            fan=fan,
            contact_mobile=fan.mobile,
            contact_email=fan.email,
            recipient="王小明",
            recipient_phone="13800138000",
            province="浙江",
            city="杭州市",
            district="西湖区",
            street="文三路 100 号",
            goods_fen=8800,
            shipping_fen=0,
            total_fen=8800,
            pay_deadline=timezone.now() + timedelta(minutes=30),
            paid_at=timezone.now() if status == Order.Status.PAID else None,
        )
        if days_ago:
            Order.objects.filter(pk=order.pk).update(
                created_at=timezone.now() - timedelta(days=days_ago)
            )
        if listing_item is not None:
            OrderLine.objects.create(
                order=order,
                listing_id=listing_item.listing_id,
                item=listing_item,
                sku_id=listing_item.sku_id,
                supplier_id=listing_item.sku.product.supplier_id,
                title="宝妈推荐好物",
                quantity=1,
                retail_price_fen=8800,
                supply_price_fen=5000,
            )
        order.refresh_from_db()
    return order


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server that records every POST and answers with the next status of
    STATUSES (the last one repeats)."""

    url: str
    statuses: list[int]
    got: queue.Queue = field(default_factory=queue.Queue)
    count: int = 0

    def next_status(self) -> int:
        status = self.statuses[min(self.count, len(self.statuses) - 1)]
        self.count += 1
        return status

    def wait(self, timeout: float = 30.0) -> Received:
        """The next request the receiver got (blocks on a queue, no sleeping)."""
        return self.got.get(timeout=timeout)


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box["r"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = rec.next_status()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answer {status}".encode())
            rec.got.put(Received(self.path, dict(self.headers.items()), body))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", statuses or [200])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
