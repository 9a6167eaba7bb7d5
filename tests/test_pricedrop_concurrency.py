"""Concurrent buyers at a price drop's last unit: exactly one order gets it (the checked update
of order_attach), the others are told it sold out. Committed rows: 12 threads place orders on
their own connections, so the test runs outside a wrapping transaction and removes its rows."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.campaigns.registry import campaign_claim_from_ticket
from storefront.models import Fan, Order
from storefront.orders.services import Buyer, Want, order_place
from storefront.pricedrop.models import DropPurchase, DropSharer, PriceDrop
from storefront.pricedrop.services import pricedrop_ticket

from .pricedrop_helpers import drop_make, pricedrop_redis_clean  # noqa: F401 (fixture)
from .storefront_helpers import BUYER

pytestmark = pytest.mark.usefixtures(
    "committed_db", "catalog_media", "catalog_english", "pricedrop_redis_clean"
)


def place(campaign: PriceDrop, n: int) -> Order:
    ticket = pricedrop_ticket(campaign=campaign, quantity=1)
    found = campaign_claim_from_ticket(ticket=f"drop:{ticket}", fan=None)
    mobile = f"137{n:08d}"
    buyer = Buyer(**{**BUYER.__dict__, "mobile": mobile, "recipient_phone": mobile})
    return order_place(wants=[Want(found.item_id, 1)], buyer=buyer, campaign=found)


def test_concurrent_buyers_at_the_last_unit_one_wins(shops):
    campaign = drop_make(shops.a, quantity=1, stock=5)
    results: list[str] = []
    barrier = threading.Barrier(12)

    def buy(n: int) -> None:
        try:
            with tenant_context(shops.a):
                barrier.wait(timeout=30)
                try:
                    place(campaign, 500 + n)
                    results.append("won")
                except ValidationError as exc:
                    results.append(f"refused: {' '.join(exc.messages)}")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(12)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with tenant_context(shops.a):
            row = PriceDrop.objects.get(pk=campaign.pk)
            assert results.count("won") == 1, results
            assert all("sold out" in r for r in results if r != "won"), results
            assert row.units_taken == 1
            assert DropPurchase.objects.filter(campaign=campaign).count() == 1
    finally:
        with tenant_context(shops.a):
            numbers = list(
                DropPurchase.objects.filter(campaign=campaign).values_list("order_id", flat=True)
            )
            DropPurchase.objects.filter(campaign=campaign).delete()
            Order.objects.filter(pk__in=numbers).delete()
            DropSharer.objects.filter(campaign=campaign).delete()
            PriceDrop.objects.filter(pk=campaign.pk).delete()
            Fan.objects.filter(mobile__startswith="137000005").delete()
