"""Share price drops (降价拍) of one shop (tenant schema).

PostgreSQL records, Redis counts (counting.py): a `DropSharer` row with `counted_at` set is one
counted share, so the price can always be recomputed from here (start − step × counted, never
below the floor) and Redis rebuilt from these rows (services.pricedrop_recount).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PriceDrop(models.Model):
    """One listing item sold at a price that each counted share lowers by a fixed step."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        NONE = "", "-"
        SOLD_OUT = "sold_out", _("Sold out")
        WINDOW = "window", _("Time is up")
        STOPPED = "stopped", _("Ended by the shop")
        NO_STOCK = "no_stock", _("Not enough stock to start")

    item = models.ForeignKey("storefront.ListingItem", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=60)
    start_price_fen = models.PositiveIntegerField()
    step_fen = models.PositiveIntegerField()
    floor_fen = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    per_fan_limit = models.PositiveSmallIntegerField(default=1)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True, default="")
    # Units held by orders (pending or paid): taken with a checked update, never above quantity.
    units_taken = models.PositiveIntegerField(default=0)
    units_paid = models.PositiveIntegerField(default=0)
    # The quota left the SKU's stock at start and goes back at the end, exactly once each.
    stock_taken = models.BooleanField(default=False)
    units_returned = models.PositiveIntegerField(null=True, blank=True)
    # Visits through sharers' links, written from Redis by the flush task.
    visits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_taken__lte=F("quantity")), name="pricedrop_taken_le_quantity"
            ),
            models.CheckConstraint(
                condition=Q(units_paid__lte=F("units_taken")), name="pricedrop_paid_le_taken"
            ),
            models.CheckConstraint(
                condition=Q(floor_fen__gt=0)
                & Q(floor_fen__lte=F("start_price_fen"))
                & Q(step_fen__gt=0),
                name="pricedrop_prices_sane",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="pricedrop_window_sane"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def price_at(self, counted: int) -> int:
        """The price after COUNTED shares: start − step × counted, never below the floor."""
        return max(self.floor_fen, self.start_price_fen - self.step_fen * max(counted, 0))

    def shares_to_floor(self) -> int:
        """How many counted shares bring the price to the floor."""
        return -(-(self.start_price_fen - self.floor_fen) // self.step_fen)


class DropSharer(models.Model):
    """A fan's own link for one price drop (her storefront ShareLink's code in the campaign's
    URL), and whether it counted: COUNTED_AT is set once, when it first brought a distinct
    visitor who was not herself. OWN_KEYS: keyed hashes of her devices and addresses, whose
    visits never count (kept here so Redis can be rebuilt)."""

    campaign = models.ForeignKey(PriceDrop, on_delete=models.CASCADE, related_name="sharers")
    fan = models.ForeignKey("storefront.Fan", on_delete=models.CASCADE, related_name="+")
    share_link = models.ForeignKey(
        "storefront.ShareLink", on_delete=models.CASCADE, related_name="+"
    )
    own_keys = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    # Which visitor counted it and from which address (keyed hashes: no raw address is kept);
    # needed to rebuild the visitor and address limits after Redis lost its data.
    counted_by = models.CharField(max_length=40, blank=True, default="")
    counted_addr = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "fan"], name="pricedrop_sharer_once")
        ]
        indexes = [models.Index(fields=["campaign", "counted_at"], name="pricedrop_counted_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.fan_id}"


class DropPurchase(models.Model):
    """An order's unit(s) of a price drop at the price it locked in (per-fan limit, buyers)."""

    class State(models.TextChoices):
        HELD = "held", _("Waiting for payment")
        PAID = "paid", _("Paid")
        RELEASED = "released", _("Not paid")

    campaign = models.ForeignKey(PriceDrop, on_delete=models.CASCADE, related_name="purchases")
    fan = models.ForeignKey("storefront.Fan", on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField(
        "storefront.Order", on_delete=models.CASCADE, related_name="price_drop"
    )
    quantity = models.PositiveSmallIntegerField()
    unit_price_fen = models.PositiveIntegerField()
    counted_at_order = models.PositiveIntegerField()  # counted shares when she ordered
    state = models.CharField(max_length=10, choices=State.choices, default=State.HELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.order_id}"
