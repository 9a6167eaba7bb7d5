"""Reads about flash sales: the creator's list and the after-sale report."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.db.models import Count, F, Q, Sum

from core.shop import current_schema
from storefront.models import Order, OrderLine

from . import gate
from .models import FlashGrab, FlashSale

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlashReport:
    registered: int
    visitors: int
    attempts: int
    won: int  # every grab recorded (whatever became of it)
    ordered: int  # in an order not paid yet
    paid: int
    expired: int
    unsold: int  # back to the SKU at the end (or cancelling)
    sell_out: timedelta | None  # from the start until the last unit first went
    gmv_fen: int  # what buyers paid for the sale's goods (lines of paid orders)


def flash_report(*, sale: FlashSale) -> FlashReport:
    """The after-sale figures (also live during the sale). Redis figures read 0 when Redis is
    away or its keys are gone (a week after the end); registrations then come from the row."""
    counts = FlashGrab.objects.filter(sale=sale).aggregate(
        won=Count("pk"),
        ordered=Count("pk", filter=Q(status=FlashGrab.Status.ORDERED)),
        paid=Count("pk", filter=Q(status=FlashGrab.Status.PAID)),
        expired=Count("pk", filter=Q(status=FlashGrab.Status.EXPIRED)),
    )
    gmv = (
        OrderLine.objects.filter(
            campaign=f"flash:{sale.pk}",
            order__status=Order.Status.PAID,
        ).aggregate(total=Sum(F("retail_price_fen") * F("quantity")))["total"]
        or 0
    )
    try:
        figures = gate.gate_figures(schema=current_schema(), sale_id=sale.pk)
    except redis.RedisError:
        logger.warning("flash report of sale %s without Redis figures", sale.pk)
        figures = {"attempts": 0, "visitors": 0, "registered": 0, "soldout_ms": None}
    sell_out = None
    soldout_ms = figures["soldout_ms"]
    if soldout_ms is not None:
        sell_out = max(
            timedelta(milliseconds=soldout_ms - int(sale.starts_at.timestamp() * 1000)),
            timedelta(0),
        )
    return FlashReport(
        registered=max(sale.registrations, int(figures["registered"] or 0)),
        visitors=int(figures["visitors"] or 0),
        attempts=int(figures["attempts"] or 0),
        won=counts["won"],
        ordered=counts["ordered"],
        paid=counts["paid"],
        expired=counts["expired"],
        unsold=sale.units_returned,
        sell_out=sell_out,
        gmv_fen=int(gmv),
    )


def flash_sales_list() -> list[FlashSale]:
    return list(
        FlashSale.objects.select_related("item__listing", "item__sku").order_by("-starts_at", "-id")
    )
