"""Flash sales (秒杀), tenant schema: the sale, its pre-registrations, its won grabs.

Redis gates, PostgreSQL records (DESIGN.md, "Social-commerce campaigns"): the rush is decided
by one Lua script in Redis (storefront/flash/gate.py); writer.py records every won grab here in
batches. Everything Redis holds can be rebuilt from these rows (reconcile.py), so the database
refuses what would oversell whatever the code above does: `units_ordered` (units of grabs
recorded here) never passes `quantity` (the units taken out of the SKU when scheduled).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class FlashSale(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        LIVE = "live", pgettext_lazy("flash sale state", "live")
        ENDED = "ended", pgettext_lazy("flash sale state", "ended")
        CANCELLED = "cancelled", _("cancelled")

    item = models.ForeignKey(
        "storefront.ListingItem",
        on_delete=models.PROTECT,
        related_name="flash_sales",
        verbose_name=_("goods"),
    )
    # Blank: the listing's title is shown.
    title = models.CharField(_("title"), max_length=60, blank=True)
    price_fen = models.PositiveIntegerField(_("flash price"))
    # The units taken out of the SKU's shared stock when the sale was scheduled.
    quantity = models.PositiveIntegerField(_("quantity"))
    per_buyer_limit = models.PositiveSmallIntegerField(_("per buyer"), default=1)
    # Pre-registration (预约) opens; at or before starts_at.
    announce_at = models.DateTimeField(_("announced"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    pay_minutes = models.PositiveSmallIntegerField(_("minutes to pay"), default=15)
    registered_only = models.BooleanField(_("pre-registered fans only"), default=False)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.SCHEDULED
    )
    # Units of won grabs recorded in PostgreSQL (won, ordered or paid; an expired grab gives its
    # unit back). Kept by checked updates; the CHECK below is the last word.
    units_ordered = models.PositiveIntegerField(_("units won"), default=0)
    # Units given back to the SKU at the end (or on cancelling): at most once.
    units_returned = models.PositiveIntegerField(_("units returned"), default=0)
    # Pre-registrations counted in Redis, written here in batches.
    registrations = models.PositiveIntegerField(_("registered"), default=0)
    # A platform user id (platform staff) or a shop admin user id: no FK across schemas.
    created_by_id = models.IntegerField(null=True, blank=True)
    for_platform = models.BooleanField(_("scheduled by the platform"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("flash sale")
        verbose_name_plural = _("flash sales")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")) & Q(announce_at__lte=F("starts_at")),
                name="flash_sale_window",
            ),
            models.CheckConstraint(
                condition=Q(price_fen__gt=0) & Q(quantity__gt=0) & Q(per_buyer_limit__gte=1),
                name="flash_sale_positive",
            ),
            models.CheckConstraint(
                condition=Q(pay_minutes__gte=1) & Q(pay_minutes__lte=120),
                name="flash_sale_pay_minutes",
            ),
            models.CheckConstraint(
                condition=Q(units_ordered__lte=F("quantity")), name="flash_sale_never_oversold"
            ),
            # A unit is either held by a grab or back in the SKU, never both.
            models.CheckConstraint(
                condition=Q(units_returned__lte=F("quantity") - F("units_ordered")),
                name="flash_sale_returned_bound",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["scheduled", "live", "ended", "cancelled"]),
                name="flash_sale_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "ends_at"], name="flash_sale_state_end")]

    def __str__(self) -> str:
        return self.title or f"flash sale {self.pk}"

    @property
    def display_title(self) -> str:
        return self.title or self.item.listing.title


class FlashRegistration(models.Model):
    """A fan's pre-registration (预约): by the signed-in fan, or by a mobile/e-mail code."""

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="registration_rows")
    fan = models.ForeignKey(
        "storefront.Fan", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The normalised mobile or e-mail; "" when registered as the signed-in fan.
    contact = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "fan"], condition=Q(fan__isnull=False), name="flash_reg_one_fan"
            ),
            models.UniqueConstraint(
                fields=["sale", "contact"], condition=~Q(contact=""), name="flash_reg_one_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sale_id}: {self.fan_id or self.contact}"


class FlashGrab(models.Model):
    """One won grab: a unit the gate gave FAN, recorded by the writer (or by checkout first)."""

    class Status(models.TextChoices):
        WON = "won", _("won, not checked out")
        ORDERED = "ordered", _("ordered, not paid")
        PAID = "paid", pgettext_lazy("flash grab", "paid")
        EXPIRED = "expired", pgettext_lazy("flash grab", "expired")

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="grabs")
    fan = models.ForeignKey("storefront.Fan", on_delete=models.PROTECT, related_name="+")
    # The buyer's idempotency key: a retry of the same key is the same grab.
    idem_key = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WON)
    order_number = models.CharField(max_length=16, blank=True)
    won_at = models.DateTimeField()
    pay_deadline = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "idem_key"], name="flash_grab_one_per_key"),
            models.CheckConstraint(
                condition=Q(status__in=["won", "ordered", "paid", "expired"]),
                name="flash_grab_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["sale", "status"], name="flash_grab_sale_status")]

    def __str__(self) -> str:
        return f"{self.sale_id}/{self.idem_key}: {self.status}"
