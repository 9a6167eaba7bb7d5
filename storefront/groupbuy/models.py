"""Group buys of one shop (tenant schema): tiered (团购拍) and fixed-size groups (拼团).

A `GroupBuy` is the campaign (its terms, its quantity taken from the SKU's shared stock, its
counters). A `GroupTeam` is one fixed-size group a buyer opened. A `GroupMember` is one real
buyer's order in it: members are made only by checkout (order_attach), never by hand, so the
counts a page shows are real people who paid.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class GroupBuy(models.Model):
    class Kind(models.TextChoices):
        TIERED = "tiered", _("Tiered group buy")
        FIXED = "fixed", _("Fixed-size group")

    class Status(models.TextChoices):
        OPEN = "open", _("in progress")
        CLOSING = "closing", _("closing")  # the deadline passed: being settled
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("minimum not reached")
        ENDED = "ended", _("ended")  # settled (a fixed group's campaign ends this way too)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=60)
    item = models.ForeignKey("storefront.ListingItem", on_delete=models.PROTECT, related_name="+")
    # Tiered: [[buyers, price_fen], …] ascending by buyers, the first at 1 buyer (the opening
    # price). Fixed: [[1, group price]].
    tiers = models.JSONField(default=list)
    min_buyers = models.PositiveIntegerField(default=1)  # tiered: below it everyone is refunded
    group_size = models.PositiveSmallIntegerField(default=0)  # fixed: members per group
    lifetime_hours = models.PositiveSmallIntegerField(default=24)  # fixed: a group's lifetime
    new_buyers_only = models.BooleanField(default=False)  # fixed: joiners must be new (老带新)
    allow_cancel = models.BooleanField(default=False)  # tiered: may a buyer cancel before the end
    per_fan_limit = models.PositiveSmallIntegerField(default=1)  # units per buyer
    quantity = models.PositiveIntegerField()  # units taken from the SKU when it started
    units_left = models.PositiveIntegerField()  # of QUANTITY, not held by any member
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()  # tiered: the deadline; fixed: no new groups after it
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Members holding a seat (paid or awaiting payment) and members who paid; kept under the
    # campaign's row lock, so the tier boundary is exact however many join at once.
    seats = models.PositiveIntegerField(default=0)
    paid_count = models.PositiveIntegerField(default=0)
    joined_ever = models.BooleanField(default=False)  # after the first join: terms only improve
    final_price_fen = models.PositiveIntegerField(null=True, blank=True)
    stock_returned = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("group buy")
        verbose_name_plural = _("group buys")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "ends_at"], name="groupbuy_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_left__lte=models.F("quantity")), name="groupbuy_units_le_qty"
            ),
            models.CheckConstraint(
                condition=Q(paid_count__lte=models.F("seats")), name="groupbuy_paid_le_seats"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def price_list(self) -> list[tuple[int, int]]:
        return [(int(b), int(p)) for b, p in self.tiers]


class GroupTeam(models.Model):
    """One fixed-size group (拼团): opened by a buyer, completed by friends through its link."""

    class Status(models.TextChoices):
        OPEN = "open", _("waiting for members")
        FULL = "full", _("complete")
        FAILED = "failed", _("timed out")

    campaign = models.ForeignKey(GroupBuy, on_delete=models.PROTECT, related_name="teams")
    code = models.CharField(max_length=16, unique=True)  # the group's link
    leader = models.ForeignKey("storefront.Fan", on_delete=models.PROTECT, related_name="+")
    size = models.PositiveSmallIntegerField()
    seats = models.PositiveSmallIntegerField(default=0)
    paid_count = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="groupbuy_team_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(seats__lte=models.F("size")), name="groupbuy_team_seats_le_size"
            ),
            models.CheckConstraint(
                condition=Q(paid_count__lte=models.F("seats")), name="groupbuy_team_paid_le_seats"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class GroupMember(models.Model):
    """One buyer's order in a group buy, and what the settlement did with it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting payment")
        PAID = "paid", _("joined")
        RELEASED = "released", _("not paid")
        SETTLED = "settled", _("group succeeded")
        REFUNDED = "refunded", _("refunded in full")

    ACTIVE = (Status.PENDING, Status.PAID, Status.SETTLED)

    campaign = models.ForeignKey(GroupBuy, on_delete=models.PROTECT, related_name="members")
    team = models.ForeignKey(
        GroupTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    fan = models.ForeignKey("storefront.Fan", on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField(
        "storefront.Order", on_delete=models.PROTECT, related_name="group_member"
    )
    quantity = models.PositiveSmallIntegerField()
    unit_price_fen = models.PositiveIntegerField()  # what she paid per unit when she joined
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    cancelled = models.BooleanField(default=False)  # she cancelled (refunded in full)
    # Fixed once the group's outcome is known (under the member's lock), then carried out in
    # steps that are each safe to repeat: the refund (key per member and attempt), the ledger
    # adjustment and the order's lines, the supplier orders.
    final_price_fen = models.PositiveIntegerField(null=True, blank=True)
    refund_fen = models.PositiveIntegerField(null=True, blank=True)
    refund_attempt = models.PositiveSmallIntegerField(default=0)
    refund_error = models.CharField(max_length=200, blank=True)
    fulfilled = models.BooleanField(default=False)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["campaign", "status"], name="groupbuy_member_status")]
        constraints = [
            # One live membership per buyer and group buy: the same person never counts twice.
            models.UniqueConstraint(
                fields=["campaign", "fan"],
                condition=Q(status__in=["pending", "paid", "settled"]),
                name="groupbuy_member_one_per_fan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.order_id}"
