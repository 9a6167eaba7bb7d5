"""Makers for the flash sale's buyer side (tests/test_flash_edge*.py, test_flash_journey.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.flash.edge import redis_client
from storefront.flash.gate import gate_load, keys
from storefront.flash.models import FlashSale
from storefront.models import Fan
from tenants.edge_hosts import edge_shops_forget

from .storefront_helpers import listed


def sale_keys_clear(schema: str, sale_id: int) -> None:
    """The test Redis outlives the test database: a sale id of an earlier run must not find
    that run's grabs, registrations or queue."""
    tag = f"flash:{{{schema}:{sale_id}}}"
    client = redis_client()
    stale = [*keys(schema, sale_id).values(), *client.keys(f"{tag}:*")]
    if stale:
        client.delete(*stale)


def sale_make(
    shop,
    *,
    starts_in: timedelta = timedelta(seconds=-5),
    lasts: timedelta = timedelta(hours=1),
    quantity: int = 5,
    limit: int = 1,
    registered_only: bool = False,
    price: int = 6600,
    title: str = "",
) -> FlashSale:
    """A flash sale in SHOP of a fresh listing, its gate loaded (units straight from the row:
    the scheduling service's stock take is F1's and tested there)."""
    _listing, item = listed(shop, price=8800, stock=quantity + 5, title=title or "秒杀好物")
    now = timezone.now()
    with tenant_context(shop):
        sale = FlashSale.objects.create(
            item=item,
            title=title,
            price_fen=price,
            quantity=quantity,
            per_buyer_limit=limit,
            announce_at=now + starts_in - timedelta(hours=2),
            starts_at=now + starts_in,
            ends_at=now + starts_in + lasts,
            registered_only=registered_only,
            state=FlashSale.State.LIVE if starts_in <= timedelta(0) else FlashSale.State.SCHEDULED,
        )
        sale_keys_clear(shop.schema_name, sale.pk)
        gate_load(sale=sale, schema=shop.schema_name)
    return sale


def fans_make(shop, n: int, *, prefix: str = "1390000") -> list[Fan]:
    with tenant_context(shop):
        return Fan.objects.bulk_create([Fan(mobile=f"{prefix}{i:04d}"[:11]) for i in range(n)])


@pytest.fixture
def edge_server() -> Iterator[str]:
    """config.wsgi's stack (FlashEdge in front of Django) on loopback in a thread; yields
    http://localhost:PORT (shop hosts: http://a.localhost:PORT)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    from storefront.flash.edge import FlashEdge

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    edge_shops_forget()
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(FlashEdge(WSGIHandler()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
