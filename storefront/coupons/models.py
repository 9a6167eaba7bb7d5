"""A creator's coupons (tenant schema): the coupon, the claims in fans' wallets, the redemptions.

Counts that limits depend on (`claimed_count`, `redeemed_count`) are kept by
storefront.coupons.services with checked UPDATEs, and the database refuses any value that breaks
a limit (the CHECK constraints below), so concurrent claims and checkouts can never exceed them.

Who pays: every coupon here is funded by the creator, out of her commission on the order (never
more: storefront/pricing.py caps it per line). Platform-funded coupons live in billing.coupons.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.money import FEN_MAX


class Coupon(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("amount off")  # 立减
        PERCENT = "percent", _("percentage off")  # 折扣
        THRESHOLD = "threshold", _("amount off above a minimum")  # 满减

    class Scope(models.TextChoices):
        SHOP = "shop", _("everything in the shop")
        LISTINGS = "listings", _("chosen goods")

    class Purpose(models.TextChoices):
        PUBLIC = "public", _("anyone may claim it")
        SHARE_REWARD = "share_reward", _("reward for sharing")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("coupon status", "active")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")

    name = models.CharField(_("name"), max_length=60)
    # Upper-case letters and digits, 4–16 (services normalise what is typed); the coupon's link
    # is /c/<code>/.
    code = models.CharField(_("code"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # FIXED and THRESHOLD: the amount off the order (fen). PERCENT: 0.
    amount_fen = models.PositiveIntegerField(_("amount off"), default=0)
    # PERCENT: 1–99 (20 = 20% off = 8折); null for the other kinds.
    percent_off = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    # PERCENT: the most it takes off one order; null: no cap (besides her commission).
    max_off_fen = models.PositiveIntegerField(_("maximum off"), null=True, blank=True)
    # The in-scope goods must reach this (满 X); any kind may have one.
    min_goods_fen = models.PositiveIntegerField(_("minimum spend"), default=0)
    scope = models.CharField(_("valid on"), max_length=10, choices=Scope.choices, default="shop")
    listings = models.ManyToManyField(
        "storefront.Listing", blank=True, related_name="coupons", verbose_name=_("goods")
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # How many may be claimed in all (发放总量); null: no limit. Every use is of a claim, so
    # uses never exceed it either.
    total_limit = models.PositiveIntegerField(_("total number"), null=True, blank=True)
    per_fan_limit = models.PositiveSmallIntegerField(_("per fan"), default=1)
    new_buyers_only = models.BooleanField(_("new buyers only"), default=False)
    # Lines at a campaign price (flash sale, group buy, price drop) take no coupon unless set.
    allow_with_campaign = models.BooleanField(_("also on campaign prices"), default=False)
    purpose = models.CharField(
        _("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.PUBLIC
    )
    # SHARE_REWARD only: at most this many rewards per sharer per calendar month.
    reward_monthly_cap = models.PositiveSmallIntegerField(_("rewards per month"), default=5)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    claimed_count = models.PositiveIntegerField(_("claimed"), default=0)
    # Claims held by unpaid orders and used by paid ones (a release gives one back).
    redeemed_count = models.PositiveIntegerField(_("used"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="coupon_window"),
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent_off__gte=1, percent_off__lte=99, amount_fen=0)
                    | Q(
                        kind__in=["fixed", "threshold"],
                        amount_fen__gt=0,
                        amount_fen__lte=FEN_MAX,
                        percent_off=None,
                    )
                ),
                name="coupon_kind_amount",
            ),
            models.CheckConstraint(
                condition=Q(max_off_fen__isnull=True) | Q(kind="percent", max_off_fen__gt=0),
                name="coupon_cap_percent_only",
            ),
            models.CheckConstraint(
                condition=~Q(kind="threshold") | Q(min_goods_fen__gt=F("amount_fen")),
                name="coupon_threshold_above_amount",
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["shop", "listings"]), name="coupon_scope_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "paused", "ended"]), name="coupon_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(per_fan_limit__gte=1) & Q(reward_monthly_cap__gte=1),
                name="coupon_limits_positive",
            ),
            # The limits themselves, whatever the code above does.
            models.CheckConstraint(
                condition=Q(total_limit__isnull=True) | Q(claimed_count__lte=F("total_limit")),
                name="coupon_claims_within_total",
            ),
            models.CheckConstraint(
                condition=Q(redeemed_count__lte=F("claimed_count")),
                name="coupon_uses_within_claims",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CouponClaim(models.Model):
    """A coupon in a fan's wallet (领券). A per-fan limit counts these."""

    class State(models.TextChoices):
        AVAILABLE = "available", _("available")
        HELD = "held", _("held by an unpaid order")
        USED = "used", _("used")
        EXPIRED = "expired", _("expired")

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="claims")
    fan = models.ForeignKey("storefront.Fan", on_delete=models.CASCADE, related_name="coupons")
    # product, article, link, code, reward, checkout: where she got it (the creator's stats).
    source = models.CharField(max_length=20)
    # source "reward": the order of the new buyer that earned it (once per order).
    reward_order_number = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.AVAILABLE)
    # HELD or USED: the order that holds or used it.
    order_number = models.CharField(max_length=16, blank=True)
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("claimed coupon")
        verbose_name_plural = _("claimed coupons")
        ordering = ["-claimed_at", "-id"]
        indexes = [models.Index(fields=["fan", "state"], name="coupons_claim_fan_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["available", "held", "used", "expired"]),
                name="coupons_claim_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["held", "used"], order_number__gt="")
                | (Q(state__in=["available", "expired"]) & Q(order_number="")),
                name="coupons_claim_order_when_held",
            ),
            # A new buyer earns her sharer one reward of a coupon, however often the task runs.
            models.UniqueConstraint(
                fields=["coupon", "reward_order_number"],
                condition=~Q(reward_order_number=""),
                name="coupons_claim_one_reward_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} → fan {self.fan_id} ({self.state})"


class CouponRedemption(models.Model):
    """A coupon used by an order: held while unpaid, used once paid, released when given back."""

    class Status(models.TextChoices):
        HELD = "held", _("held by an unpaid order")
        USED = "used", _("used")
        RELEASED = "released", _("given back")

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    claim = models.ForeignKey(
        CouponClaim, on_delete=models.SET_NULL, null=True, blank=True, related_name="redemptions"
    )
    order = models.ForeignKey(
        "storefront.Order", on_delete=models.CASCADE, related_name="coupon_redemptions"
    )
    # What it took off the order (the sum of its lines' creator_discount_fen).
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "coupon"], name="coupons_one_use_per_order"),
            models.CheckConstraint(
                condition=Q(status__in=["held", "used", "released"]),
                name="coupons_redemption_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} on order {self.order_id}: {self.amount_fen} ({self.status})"
