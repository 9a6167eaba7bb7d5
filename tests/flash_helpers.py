"""Makers for flash sale tests: a scheduled sale with its gate loaded, fans, grabs."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.flash import gate
from storefront.flash.models import FlashSale
from storefront.flash.services import flash_sale_schedule
from storefront.models import Fan

from .storefront_helpers import listed

_mobiles = itertools.count(1)


def fans_make(n: int) -> list[Fan]:
    """N fans of the current shop, each with her own mobile number."""
    run = uuid.uuid4().int % 1000
    made = [Fan(mobile=f"139{run:03d}{next(_mobiles) % 100000:05d}") for _ in range(n)]
    return Fan.objects.bulk_create(made)


def sale_make(
    shop,
    *,
    quantity: int = 5,
    stock: int = 100,
    limit: int = 1,
    registered_only: bool = False,
    started: bool = True,
    pay_minutes: int = 15,
    price: int = 6600,
) -> FlashSale:
    """A flash sale in SHOP of a freshly listed item (8800, bounds 6000–12000), running now
    (or starting in an hour), with its gate loaded as scheduling's commit would load it."""
    _listing, item = listed(shop, price=8800, stock=stock)
    now = timezone.now().replace(second=0, microsecond=0)  # whole minutes, as forms send them
    starts = now - timedelta(minutes=1) if started else now + timedelta(hours=1)
    with tenant_context(shop):
        sale = flash_sale_schedule(
            item=item,
            price_fen=price,
            quantity=quantity,
            per_buyer_limit=limit,
            announce_at=starts - timedelta(hours=1),
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            pay_minutes=pay_minutes,
            registered_only=registered_only,
        )
        # The test's transaction never commits: load the gate as the commit would.
        gate.gate_load(sale=sale, schema=shop.schema_name, fresh=True)
    return sale


def grab(shop, sale: FlashSale, fan_id: int, idem: str | None = None, **kw) -> gate.Grab:
    return gate.gate_grab(
        schema=shop.schema_name,
        sale_id=sale.pk,
        fan_id=fan_id,
        idem_key=idem or uuid.uuid4().hex,
        **kw,
    )
