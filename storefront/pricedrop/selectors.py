"""Reads for the creator's price drop pages: the count and the price over time, top sharers
(masked), buyers. From PostgreSQL (what the flush task wrote; the page flushes first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from storefront.sharing.selectors import mask_fan

from .models import DropPurchase, DropSharer, PriceDrop

BUCKETS_MAX = 48
SHARERS_SHOWN = 20


@dataclass(frozen=True)
class Point:
    label: str
    at: datetime
    counted: int  # counted shares by the end of this bucket
    price_fen: int


def pricedrop_curve(*, campaign: PriceDrop, now: datetime | None = None) -> list[Point]:
    """Counted shares and the price at the end of each hour (each day for a window over two
    days), from the start until now or the end; at most BUCKETS_MAX points (the latest)."""
    now = now or timezone.now()
    end = min(now, campaign.ended_at or campaign.ends_at, campaign.ends_at)
    start = campaign.starts_at
    if end <= start:
        return []
    short = campaign.ends_at - start <= timedelta(days=2)
    step = timedelta(hours=1) if short else timedelta(days=1)
    times = [
        t
        for t in DropSharer.objects.filter(campaign=campaign, counted_at__isnull=False)
        .order_by("counted_at")
        .values_list("counted_at", flat=True)
        if t is not None
    ]
    points: list[Point] = []
    edge, i = start + step, 0
    while True:
        cut = min(edge, end)
        while i < len(times) and times[i] < cut:
            i += 1
        local = timezone.localtime(cut)
        label = local.strftime("%H:%M") if step < timedelta(days=1) else local.strftime("%m-%d")
        points.append(Point(label, cut, i, campaign.price_at(i)))
        if edge >= end:
            break
        edge += step
    return points[-BUCKETS_MAX:]


@dataclass(frozen=True)
class SharerRow:
    who: str
    counted_at: datetime | None
    buyers: int  # paid price drop orders that came through her link


def pricedrop_top_sharers(*, campaign: PriceDrop, limit: int = SHARERS_SHOWN) -> list[SharerRow]:
    """Sharers by buyers brought, then the earliest counted (masked: the list shows who spreads
    the word, it is not for contacting them)."""
    paid = Q(
        share_link__orders__price_drop__campaign=campaign,
        share_link__orders__price_drop__state=DropPurchase.State.PAID,
    )
    rows = (
        DropSharer.objects.filter(campaign=campaign)
        .select_related("fan")
        .annotate(buyers=Count("share_link__orders", filter=paid, distinct=True))
        .order_by("-buyers", "counted_at", "pk")[:limit]
    )
    return [SharerRow(who=mask_fan(r.fan), counted_at=r.counted_at, buyers=r.buyers) for r in rows]


@dataclass(frozen=True)
class Figures:
    sharers: int
    counted: int
    visits: int
    buyers: int
    units_paid: int
    units_held: int


def pricedrop_figures(*, campaign: PriceDrop) -> Figures:
    sharers = DropSharer.objects.filter(campaign=campaign).aggregate(
        n=Count("pk"), counted=Count("pk", filter=Q(counted_at__isnull=False))
    )
    paid = DropPurchase.objects.filter(campaign=campaign, state=DropPurchase.State.PAID)
    return Figures(
        sharers=sharers["n"],
        counted=sharers["counted"],
        visits=campaign.visits,
        buyers=paid.values("fan_id").distinct().count(),
        units_paid=campaign.units_paid,
        units_held=campaign.units_taken - campaign.units_paid,
    )


def pricedrop_buyers_list(*, campaign: PriceDrop, limit: int = 50) -> list[DropPurchase]:
    return list(
        DropPurchase.objects.filter(campaign=campaign)
        .select_related("order", "fan")
        .order_by("-created_at", "-id")[:limit]
    )
