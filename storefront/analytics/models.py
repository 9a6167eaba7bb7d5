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
