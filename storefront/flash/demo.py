"""A demo flash sale for `make run` (console's seed_demo calls flash_demo_seed per demo shop).

A newcomer who opens the demo shop right after `make run` sees the whole of a 秒杀: the sale
opens a few minutes after the seed with a countdown and 25 pre-registered demo fans; at the
start a crowd of them takes all units but one (a task at the start), so she can press 立即抢购
for the last one and watch it turn to 已抢光 — or see it sold out if she is late.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.shop import current_schema
from storefront.models import Fan, ListingItem

from .gate import gate_grab
from .models import FlashSale
from .registration import flash_register
from .services import flash_sale_schedule

logger = logging.getLogger(__name__)

DEMO_TITLE = "【演示】整点秒杀"
DEMO_FANS = 25
DEMO_QUANTITY = 5
OPENS_AFTER = timedelta(minutes=3)
LASTS = timedelta(minutes=30)
# The crowd presses this long after the start: the newcomer's own press may come first.
CROWD_AFTER = timedelta(seconds=20)


def _demo_item() -> ListingItem | None:
    """An active listing's item with stock for the sale and room for a flash price."""
    for item in (
        ListingItem.objects.select_related("sku", "listing")
        .filter(listing__is_active=True)
        .order_by("id")
    ):
        sku = item.sku
        if sku.stock >= DEMO_QUANTITY and sku.min_retail_fen < item.retail_price_fen:
            return item
    return None


def flash_demo_seed(*, shop) -> None:
    """In SHOP: a flash sale of DEMO_QUANTITY units opening OPENS_AFTER from now, with
    DEMO_FANS fans registered; nothing when a demo sale has not ended yet. Safe to run again."""
    now = timezone.now()
    with tenant_context(shop):
        if FlashSale.objects.filter(
            title=DEMO_TITLE,
            ends_at__gt=now,
            state__in=[FlashSale.State.SCHEDULED, FlashSale.State.LIVE],
        ).exists():
            return
        item = _demo_item()
        if item is None:
            logger.warning("flash demo: no listing with stock in %s", shop.schema_name)
            return
        sku = item.sku
        # The demo sale's own price, about 30 % off the shop's, inside the supplier's bounds
        # (a campaign term the creator would type, not a line's price: pricing.py prices lines).
        shop_price = item.retail_price_fen
        price = max(sku.min_retail_fen, shop_price * 7 // 10)
        starts_at = now + OPENS_AFTER
        sale = flash_sale_schedule(
            item=item,
            title=DEMO_TITLE,
            price_fen=price,
            quantity=DEMO_QUANTITY,
            per_buyer_limit=1,
            announce_at=now,
            starts_at=starts_at,
            ends_at=starts_at + LASTS,
            pay_minutes=15,
        )
        fans = []
        for i in range(DEMO_FANS):
            mobile = f"1390099{i:04d}"
            fan = Fan.objects.filter(mobile=mobile).first()
            fans.append(fan or Fan.objects.create(mobile=mobile))

        def register_and_crowd() -> None:
            # After the schedule's own commit callback, which loads the sale's gate afresh.
            with tenant_context(shop):
                for fan in fans:
                    flash_register(sale=sale, fan=fan, now=now)
                try:
                    flash_demo_crowd_task.apply_async(
                        kwargs={"sale_id": sale.pk}, eta=starts_at + CROWD_AFTER
                    )
                except Exception:  # no broker: the demo sale simply waits for real buyers
                    logger.exception("flash demo: the crowd task could not be sent")

        transaction.on_commit(register_and_crowd)


@shared_task
def flash_demo_crowd_task(*, sale_id: int) -> int:
    """The demo crowd presses 抢购 (through the gate, as real presses do): all units but one."""
    sale = FlashSale.objects.filter(pk=sale_id, title=DEMO_TITLE).first()
    if sale is None:
        return 0
    won = 0
    for fan in Fan.objects.filter(mobile__startswith="1390099").order_by("id")[:DEMO_FANS]:
        if won >= sale.quantity - 1:
            break
        grab = gate_grab(
            schema=current_schema(), sale_id=sale.pk, fan_id=fan.pk, idem_key=f"demo-{fan.pk}"
        )
        won += grab.status == "won"
    return won
