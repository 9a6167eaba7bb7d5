"""Daily analytics rows of one shop (tenant schema).

Views, impressions and taps are never written here one by one: they are counted in Redis
(counting.py) and a Celery task rolls them up into these rows every minute (rollup.py).
"""

from __future__ import annotations

from django.db import models

EVENTS = (
    "article_view",
    "product_view",
    "card_impression",
    "card_tap",
    "share_visit",
    "checkout_start",
    "order_paid",
)


class DailyCount(models.Model):
    """How many times EVENT happened on DAY for one page / listing / source."""

    day = models.DateField()
    event = models.CharField(max_length=24, choices=[(e, e) for e in EVENTS])
    # The Wagtail page (article or product page); 0 = none.
    page_id = models.PositiveIntegerField(default=0)
    listing_id = models.PositiveIntegerField(default=0)
    # "" direct, "share", "campaign:<id>", "coupon:<code>".
    source = models.CharField(max_length=40, default="", blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "event", "page_id", "listing_id", "source"],
                name="analytics_dailycount_unique",
            )
        ]
        # An article's own figures (its editor side panel) read by page, then day.
        indexes = [models.Index(fields=["page_id", "day"], name="analytics_dc_page_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.event} {self.count}"


class DailyPageCount(models.Model):
    """DailyCount summed over listings: how many times EVENT happened on DAY for one page and
    source. What the dashboard, an article's panel and the API read.

    The rollup adds each batch to both tables in one transaction (rollup.py); rows written
    into DailyCount any other way (the demo, a bench) are carried over by page_counts_remake.
    Without it the dashboard summed one row per listing too: a busy day of 1,000,000 events
    over 2,000 listings is ~400,000 DailyCount rows, and ~14,000 here.
    """

    day = models.DateField()
    event = models.CharField(max_length=24, choices=[(e, e) for e in EVENTS])
    page_id = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=40, default="", blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "event", "page_id", "source"], name="analytics_dailypage_unique"
            )
        ]
        indexes = [models.Index(fields=["page_id", "day"], name="analytics_dpc_page_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.event} page {self.page_id} {self.count}"


class DailyVisitors(models.Model):
    """Unique visitors of DAY, from the day's HyperLogLog (about 0.81 % standard error)."""

    day = models.DateField(unique=True)
    visitors = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} {self.visitors}"


class RollupBatch(models.Model):
    """One batch of Redis counts applied to DailyCount, recorded in the same transaction.

    The rollup renames the live Redis hash to a batch key, applies it, then deletes it. A batch
    whose key is here was already applied: a run that died after the commit only deletes the
    Redis copy, so nothing is counted twice (rollup.py explains the whole method).
    """

    key = models.CharField(max_length=80, unique=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


# --- paid orders rolled up by day (sales.py) --------------------------------------------------
#
# The dashboard reads these instead of scanning a period's orders. A day's rows are made whole
# from the orders (never incremented), so remaking one is always right; a day without its
# SalesDay row has not been rolled up and is read from the orders. sales.py says when a day is
# (re)made and why the figures stay exact.


class SalesDay(models.Model):
    """The paid orders of DAY (by paid_at, the shop's time zone): one row per day rolled up,
    days without orders too (so a missing row means "not rolled up", never "no sales")."""

    day = models.DateField(unique=True)
    orders = models.PositiveIntegerField(default=0)
    # As paid: goods after coupons plus delivery (Order.total_fen).
    gmv_fen = models.PositiveBigIntegerField(default=0)
    # Of them, orders that came through a share link.
    shared_orders = models.PositiveIntegerField(default=0)
    rolled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} {self.orders}"


class PageSalesDay(models.Model):
    """The paid orders of DAY that came from article PAGE_ID (Order.source_page_id)."""

    day = models.DateField()
    page_id = models.PositiveIntegerField()
    orders = models.PositiveIntegerField(default=0)
    gmv_fen = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "page_id"], name="analytics_pagesales_unique")
        ]
        # An article's own figures (its editor panel) read by page, then day.
        indexes = [models.Index(fields=["page_id", "day"], name="analytics_pagesales_page")]

    def __str__(self) -> str:
        return f"{self.day} page {self.page_id} {self.orders}"


class ListingSalesDay(models.Model):
    """What LISTING_ID sold on DAY in paid orders: orders, units, goods after coupons."""

    day = models.DateField()
    listing_id = models.PositiveIntegerField()
    orders = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    gmv_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "listing_id"], name="analytics_listingsales_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} listing {self.listing_id} {self.units}"
