"""Platform coupons and their uses. Public schema.

A platform coupon is a platform marketing expense: its budget (in fen) is the most the platform
will ever pay for it. `spent_fen` counts every use that is HELD (an unpaid order) or USED (a paid
one); a released use gives its amount back. The database refuses `spent_fen > budget_fen`, and
the hold is one checked UPDATE (billing.coupons.services), so concurrent checkouts can never
overspend the budget, not even by one fen.

Public tables never point into a shop's schema: a use names its order by (tenant, order number).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PlatformCoupon(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("fixed amount off")
        PERCENT = "percent", _("percentage off")
        THRESHOLD = "threshold", _("amount off above a minimum")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("coupon status", "active")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")

    name = models.CharField(_("name"), max_length=60)
    # Upper-case letters and digits, 4–16: what a buyer types at checkout (services normalise).
    code = models.CharField(_("code"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # FIXED and THRESHOLD: the amount off. PERCENT: 0 (unused).
    amount_fen = models.PositiveIntegerField(_("amount off"), default=0)
    # PERCENT: 1–99 (20 = 20% off = 8折); null for the other kinds.
    percent_off = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    # PERCENT: the most it takes off one order (null: no cap besides the budget).
    max_off_fen = models.PositiveIntegerField(_("maximum off"), null=True, blank=True)
    # The order's goods must reach this (满 X); any kind may have one.
    min_goods_fen = models.PositiveIntegerField(_("minimum order"), default=0)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # Every live shop, or only the shops listed (both tables are public: no schema crossing).
    all_shops = models.BooleanField(_("every shop"), default=True)
    shops = models.ManyToManyField(
        "tenants.Tenant", blank=True, related_name="+", verbose_name=_("shops")
    )
    budget_fen = models.PositiveIntegerField(_("budget"))
    spent_fen = models.PositiveIntegerField(_("spent"), default=0)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("platform coupon")
        verbose_name_plural = _("platform coupons")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The budget is never overspent, whatever the code above does.
            models.CheckConstraint(
                condition=Q(spent_fen__lte=F("budget_fen")),
                name="platform_coupon_spent_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="platform_coupon_window"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent_off__gte=1, percent_off__lte=99, amount_fen=0)
                    | (Q(kind__in=["fixed", "threshold"], amount_fen__gt=0, percent_off=None))
                ),
                name="platform_coupon_kind_amount",
            ),
            models.CheckConstraint(
                condition=~Q(kind="threshold") | Q(min_goods_fen__gt=F("amount_fen")),
                name="platform_coupon_threshold_above_amount",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9]{4,16}$"), name="platform_coupon_code_form"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def remaining_fen(self) -> int:
        return max(self.budget_fen - self.spent_fen, 0)


class PlatformCouponUse(models.Model):
    """One order's use of a platform coupon: the amount taken from the budget for it."""

    class Status(models.TextChoices):
        HELD = "held", _("held (unpaid order)")
        USED = "used", _("used")
        RELEASED = "released", _("released")

    coupon = models.ForeignKey(PlatformCoupon, on_delete=models.PROTECT, related_name="uses")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(max_length=64)
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("platform coupon use")
        verbose_name_plural = _("platform coupon uses")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "tenant", "order_number"], name="platform_coupon_use_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="platform_coupon_use_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "order_number"])]

    def __str__(self) -> str:
        return f"{self.coupon.code} on {self.tenant_id}/{self.order_number} ({self.status})"
