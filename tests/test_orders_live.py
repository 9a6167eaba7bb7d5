"""Orders with committed data: concurrent buyers, and the paid path through the real worker."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalog.models import SKU
from storefront.models import Order
from storefront.orders.services import OutOfStock, Want, order_place

from .storefront_helpers import BUYER, listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def test_two_buyers_one_unit_one_order(shops, committed_db):
    _listing, item = listed(shops.a, stock=1)
    start = threading.Barrier(2)
    results: list[str] = []

    def buy(mobile: str) -> None:
        try:
            buyer = BUYER.__class__(**{**BUYER.__dict__, "mobile": mobile})
            with tenant_context(shops.a):
                start.wait(timeout=30)
                try:
                    order_place(wants=[Want(item.pk, 1)], buyer=buyer)
                    results.append("ordered")
                except OutOfStock as exc:
                    results.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(m,)) for m in ("13900000001", "13900000002")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(results) == 2 and results.count("ordered") == 1
    refused = next(r for r in results if r != "ordered")
    assert "sold out while you were ordering" in refused
    assert stock(item.sku_id) == 0
    with tenant_context(shops.a):
        assert Order.objects.filter(lines__item=item).count() == 1
