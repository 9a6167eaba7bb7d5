"""Makers for the price drop tests: a running price drop in a shop, fans and their links."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.models import Fan
from storefront.pricedrop import counting
from storefront.pricedrop.models import DropSharer, PriceDrop
from storefront.pricedrop.services import Terms, pricedrop_create, pricedrop_sharer_ensure

from .storefront_helpers import listed

_n = itertools.count(1)


@pytest.fixture(scope="module", autouse=False)
def pricedrop_redis_clean(django_db_setup):
    """No price drop keys left from an earlier run: the test database is made anew each run
    (campaign ids start at 1 again) while the test Redis keeps its data."""
    redis = counting.client()
    for key in redis.scan_iter(match=f"{counting.PREFIX}:*", count=1000):
        redis.delete(key)


def terms(**over) -> Terms:
    now = timezone.now()
    values = {
        "title": "转发降价 辅食碗",
        "start_price_fen": 8800,
        "step_fen": 500,
        "floor_fen": 6000,
        "quantity": 5,
        "per_fan_limit": 1,
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(days=1),
    }
    values.update(over)
    return Terms(**values)


def drop_make(shop, *, stock: int = 20, price: int = 8800, **over) -> PriceDrop:
    """A running price drop in SHOP of a freshly listed item (8800 → 6000 by 500, 5 units)."""
    _listing, item = listed(shop, price=price, stock=stock)
    with tenant_context(shop):
        campaign = pricedrop_create(item=item, terms=terms(**over))
    connection.set_schema_to_public()
    return campaign


def fan_make(mobile: str | None = None) -> Fan:
    """A fan of the current shop (run inside tenant_context)."""
    return Fan.objects.create(mobile=mobile or f"139{next(_n):08d}")


def sharer_make(campaign: PriceDrop, *, device: str = "", address: str = "") -> DropSharer:
    """A fan with her own link for CAMPAIGN (inside tenant_context); DEVICE/ADDRESS: raw values
    she used signed in (her own, whose visits never count)."""
    fan = fan_make()
    own = []
    if device:
        own.append(counting.identity("d", device))
    if address:
        own.append(counting.identity("a", address))
    return pricedrop_sharer_ensure(campaign=campaign, fan=fan, own_keys=own)


def visit(sharer: DropSharer, *, device: str, address: str, fan_id: int | None = None):
    """One visit through SHARER's link (inside tenant_context), as the view counts it."""
    from storefront.pricedrop.services import pricedrop_visit

    return pricedrop_visit(
        sharer=sharer,
        visitor_fan_id=fan_id,
        device=counting.identity("d", device),
        address=counting.identity("a", address),
    )
