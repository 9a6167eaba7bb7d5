"""Carts and orders of one shop (tenant schema; registered through storefront/models.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Cart(models.Model):
    """A visitor's cart, found by the random token in her cookie."""

    token = models.CharField(max_length=43, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("storefront.ListingItem", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "item"], name="storefront_cartline_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="storefront_cartline_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} × {self.quantity}"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("awaiting payment")
        PAID = "paid", _("paid")
        EXPIRED = "expired", _("expired unpaid")
        CANCELLED = "cancelled", _("cancelled")

    # Public: printed on the confirmation, typed into the lookup, named by billing's rows.
    number = models.CharField(_("order number"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT
    )
    fan = models.ForeignKey("storefront.Fan", on_delete=models.PROTECT, related_name="orders")
    contact_mobile = models.CharField(_("mobile number"), max_length=11, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    recipient = models.CharField(_("recipient"), max_length=50)
    recipient_phone = models.CharField(_("recipient's phone"), max_length=20)
    province = models.CharField(_("province"), max_length=20)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30)
    street = models.CharField(_("street address"), max_length=200)
    note = models.CharField(_("note to the seller"), max_length=200, blank=True)
    goods_fen = models.PositiveBigIntegerField()
    shipping_fen = models.PositiveBigIntegerField()
    total_fen = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    # The article (Wagtail page id) the buyer came from, for per-article orders and GMV
    # (storefront/analytics); null when she did not come from one.
    source_page_id = models.PositiveIntegerField(null=True, blank=True)
    share_link = models.ForeignKey(
        "storefront.ShareLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    pay_deadline = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "pay_deadline"], name="storefront_order_due"),
            models.Index(fields=["contact_mobile"], name="storefront_order_mobile"),
            # The dashboard reads paid orders by the day they were paid (analytics.selectors).
            models.Index(fields=["status", "paid_at"], name="storefront_order_paid_at"),
            # The API's orders list filters by the day an order was made (shopapi.orders_list).
            models.Index(fields=["created_at"], name="storefront_order_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_fen=models.F("goods_fen") + models.F("shipping_fen")),
                name="storefront_order_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def address(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


class OrderLine(models.Model):
    """A line as sold: prices are copied from the listing and the catalog at order time."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    listing = models.ForeignKey("storefront.Listing", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("storefront.ListingItem", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, related_name="+")
    supplier_id = models.BigIntegerField()
    title = models.CharField(max_length=200)
    option_label = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    retail_price_fen = models.PositiveIntegerField()
    supply_price_fen = models.PositiveIntegerField()
    # The supplier's delivery charge, carried on the first line of each (supplier, template).
    shipping_fen = models.PositiveIntegerField(default=0)
    return_days = models.PositiveSmallIntegerField(default=7)
    # Coupon discounts on the whole line (all its units), by who funds them (storefront/pricing.py
    # allocates an order's coupon to its lines). Stored per line so a return reverses exactly.
    creator_discount_fen = models.PositiveIntegerField(default=0)
    platform_discount_fen = models.PositiveIntegerField(default=0)
    # The campaign whose price this line took ("flash:12", storefront.campaigns); "" for none.
    # Its units came from the campaign's quota, so an unpaid order gives them back there.
    campaign = models.CharField(max_length=40, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="storefront_orderline_qty"),
            models.CheckConstraint(
                condition=Q(
                    creator_discount_fen__lte=models.F("retail_price_fen") * models.F("quantity")
                    - models.F("platform_discount_fen")
                ),
                name="storefront_orderline_discount_le_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} × {self.quantity}"

    @property
    def amount_fen(self) -> int:
        """The line at list price (all its units), before coupons."""
        return self.retail_price_fen * self.quantity

    @property
    def discount_fen(self) -> int:
        return self.creator_discount_fen + self.platform_discount_fen

    @property
    def paid_fen(self) -> int:
        """What the buyer paid for the line's goods: list price less both coupons."""
        return self.amount_fen - self.discount_fen
