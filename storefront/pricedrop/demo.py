"""A demo price drop for `make run` (console's seed_demo calls pricedrop_demo_seed per shop)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.models import Fan, ListingItem

from . import counting
from .models import PriceDrop
from .services import (
    Terms,
    pricedrop_create,
    pricedrop_flush,
    pricedrop_sharer_ensure,
    pricedrop_visit,
)

DEMO_TITLE = "转发降价 · 每次分享便宜一点"
DEMO_SHARES = 4
QUANTITY = 10


def _demo_item() -> ListingItem | None:
    """An item on sale with room below its price inside the supplier's bounds, and stock."""
    for item in ListingItem.objects.filter(listing__is_active=True).select_related(
        "sku__product", "listing"
    ):
        sku = item.sku
        if (
            item.is_available
            and sku.stock >= QUANTITY * 2
            and sku.min_retail_fen < item.retail_price_fen <= sku.max_retail_fen
        ):
            return item
    return None


def pricedrop_demo_seed(*, shop) -> None:
    """In SHOP: a running price drop (10 units, a week) of the first suitable item, from its
    price down to at most 20% off by ten steps, with DEMO_SHARES counted shares (demo fans'
    links opened by distinct visitors). Safe to run again: a shop that has it keeps it."""
    with tenant_context(shop):
        if PriceDrop.objects.filter(title=DEMO_TITLE).exists():
            return
        item = _demo_item()
        if item is None:
            return
        start = item.retail_price_fen
        floor = max(item.sku.min_retail_fen, start * 8 // 10)
        step = max(1, (start - floor) // 10)
        now = timezone.now()
        campaign = pricedrop_create(
            item=item,
            terms=Terms(
                title=DEMO_TITLE,
                start_price_fen=start,
                step_fen=step,
                floor_fen=floor,
                quantity=QUANTITY,
                per_fan_limit=1,
                starts_at=now - timedelta(hours=3),
                ends_at=now + timedelta(days=7),
            ),
        )
        for n in range(DEMO_SHARES):
            mobile = f"1390099{n:04d}"
            fan = Fan.objects.filter(mobile=mobile).first() or Fan.objects.create(
                mobile=mobile, name=f"分享达人{n + 1}"
            )
            sharer = pricedrop_sharer_ensure(campaign=campaign, fan=fan, own_keys=[])
            pricedrop_visit(
                sharer=sharer,
                visitor_fan_id=None,
                device=counting.identity("d", f"demo-friend-{n}"),
                address=counting.identity("a", f"192.0.2.{n + 10}"),
            )
        pricedrop_flush(campaign_id=campaign.pk)
