"""Demo figures: DAYS days of daily rows shaped like a real shop, for `make run`'s demo shops.

Shaped, not random noise: readers grow over the period, weekends read more, a few articles
carry most views, each funnel step keeps a share of the one before (view → card tap → checkout
→ paid), and some visits come through share links. Every figure is drawn from a generator
seeded by the shop and the day, so seeding again writes the very same rows (idempotent); the
days end yesterday, so today is left to live counting.

Orders are seeded separately (storefront's demo); order_paid here is the funnel's last step.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from wagtail.models import Page

from storefront.models import Listing
from tenants.models import Tenant

from .models import DailyCount, DailyVisitors
from .rollup import page_counts_remake


def _weights(n: int) -> list[float]:
    # A few articles (and goods) carry most of the traffic.
    return [1 / (rank + 1) for rank in range(n)] or [1.0]


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    whole = sum(weights)
    return [round(total * w / whole * rng.uniform(0.8, 1.2)) for w in weights]


def day_rows(
    *, rng: random.Random, day: date, growth: float, articles: list[int], listings: list[int]
) -> tuple[int, list[DailyCount]]:
    """(visitors, rows) of one day."""
    weekend = 1.3 if day.weekday() >= 5 else 1.0
    readers = max(1, round(220 * growth * weekend * rng.uniform(0.85, 1.15)))
    rows: list[DailyCount] = []

    def add(event: str, count: int, page_id: int = 0, listing_id: int = 0, source: str = ""):
        if count > 0:
            rows.append(
                DailyCount(
                    day=day,
                    event=event,
                    page_id=page_id,
                    listing_id=listing_id,
                    source=source,
                    count=count,
                )
            )

    for page_id, views in zip(
        articles, _split(rng, round(readers * 1.5), _weights(len(articles))), strict=True
    ):
        add("article_view", views, page_id)
        # Each article shows a few of the goods as cards.
        shown = listings[page_id % len(listings) :] + listings[: page_id % len(listings)]
        for listing_id in shown[:3]:
            seen = round(views * rng.uniform(0.6, 0.9))
            add("card_impression", seen, page_id, listing_id)
            add("card_tap", round(seen * rng.uniform(0.05, 0.12)), page_id, listing_id)
    for listing_id, views in zip(
        listings, _split(rng, round(readers * 0.4), _weights(len(listings))), strict=True
    ):
        add("product_view", views, 0, listing_id)
        shared = round(views * rng.uniform(0.03, 0.1))
        add("share_visit", shared, 0, listing_id, "share")
        add("product_view", shared, 0, listing_id, "share")
    taps = sum(r.count for r in rows if r.event == "card_tap")
    checkouts = round(taps * rng.uniform(0.25, 0.4))
    from_share = round(checkouts * 0.15)
    add("checkout_start", checkouts - from_share)
    add("checkout_start", from_share, source="share")
    paid = round(checkouts * rng.uniform(0.55, 0.7))
    add("order_paid", paid - round(paid * 0.15))
    add("order_paid", round(paid * 0.15), source="share")
    return readers, rows


def demo_seed(*, shop: Tenant, days: int = 90) -> None:
    """DAYS days of DailyCount / DailyVisitors rows for SHOP, ending yesterday; idempotent."""
    with tenant_context(shop), transaction.atomic():
        articles = list(
            Page.objects.filter(live=True, content_type__model="articlepage")
            .order_by("pk")
            .values_list("pk", flat=True)[:8]
        ) or [0]
        listings = list(
            Listing.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)[:12]
        ) or [0]
        today = timezone.localdate()
        counts: list[DailyCount] = []
        visitors: list[DailyVisitors] = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            # Seeded per shop and day: the same figures every time (demo data, not secrets).
            rng = random.Random(f"{shop.schema_name}:{day.isoformat()}")  # noqa: S311
            growth = 1 + (days - back) / days  # twice the readers at the end of the period
            readers, rows = day_rows(
                rng=rng, day=day, growth=growth, articles=articles, listings=listings
            )
            visitors.append(DailyVisitors(day=day, visitors=readers))
            counts += rows
        DailyVisitors.objects.bulk_create(
            visitors, update_conflicts=True, unique_fields=["day"], update_fields=["visitors"]
        )
        DailyCount.objects.bulk_create(
            counts,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["day", "event", "page_id", "listing_id", "source"],
            update_fields=["count"],
        )
        page_counts_remake(first=today - timedelta(days=days), last=today - timedelta(days=1))
