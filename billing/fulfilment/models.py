"""What suppliers ship, what buyers send back, and when the money of a sale is settled.

Public schema. Rows name a shop's order by (tenant, order_number) and a shop's order line by
its id (`line_ref`), never by a foreign key into the shop's schema. Money is integer fen.

    SupplierOrder   to_ship ──ship──▶ shipped ──deliver──▶ delivered ──settle──▶ (settled_at)
                    to_ship / shipped ──cancel──▶ cancelled
    ReturnCase      requested ──supplier confirms receipt──▶ received ──refund──▶ refunded
                    requested ──▶ rejected (by the supplier) | cancelled (by the buyer)
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# 消费者权益保护法 art. 25: seven days from receipt of the goods, no reason needed.
RETURN_DAYS = 7


class SupplierOrder(models.Model):
    """One supplier's part of one shop order: what it must ship, and where to."""

    class Status(models.TextChoices):
        TO_SHIP = "to_ship", _("to ship")
        SHIPPED = "shipped", _("shipped")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")

    # No index of their own: the unique (tenant, order_number, supplier) and the queue index
    # (supplier, status, created_at) lead with them. Fewer indexes make settlement's UPDATE of
    # every settled row cheaper.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    order_number = models.CharField(_("order number"), max_length=64)
    supplier = models.ForeignKey(
        "catalog.Supplier",
        on_delete=models.PROTECT,
        related_name="supplier_orders",
        db_index=False,
    )
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, related_name="supplier_orders"
    )
    currency = models.CharField(max_length=3, default="CNY")
    # The ship-to address as it was at order time: only what the parcel needs.
    recipient = models.CharField(_("recipient"), max_length=50)
    phone = models.CharField(_("recipient's phone"), max_length=20)
    province = models.CharField(_("province"), max_length=20)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30)
    street = models.CharField(_("street address"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.TO_SHIP
    )
    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # delivered_at + the longest return window of its lines: settlement waits for it.
    returns_close_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("supplier order")
        verbose_name_plural = _("supplier orders")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order_number", "supplier"], name="fulfilment_so_once"
            ),
            models.CheckConstraint(
                condition=~Q(status="shipped") | ~Q(tracking_number=""),
                name="fulfilment_so_shipped_has_tracking",
            ),
        ]
        indexes = [
            models.Index(fields=["supplier", "status", "created_at"], name="fulfilment_so_queue"),
            # The settlement run's scan: delivered, not settled, window closed.
            models.Index(
                fields=["returns_close_at"],
                condition=Q(status="delivered", settled_at__isnull=True),
                name="fulfilment_so_to_settle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} / {self.supplier_id} ({self.status})"

    @property
    def address(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


class SupplierOrderLine(models.Model):
    """One shop order line as the supplier ships it, with its share of the capture entry.

    fee_fen and commission_fen are the line's whole quantity's shares (billing.ledger
    .capture_split), so supply_price_fen × quantity + shipping_fen + fee_fen + commission_fen
    is what the capture entry posted for this line, to the fen. The coupon discounts are the
    line's whole quantity's too: retail × quantity = supply × quantity + fee + commission +
    creator_discount_fen (commission is net of the creator's coupon), and the buyer paid
    retail × quantity − creator_discount_fen − platform_discount_fen for the goods.
    """

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.PROTECT, related_name="lines"
    )
    line_ref = models.BigIntegerField(help_text=_("the shop's order line id"))
    sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    option_label = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    retail_price_fen = models.PositiveIntegerField()
    supply_price_fen = models.PositiveIntegerField()
    shipping_fen = models.PositiveIntegerField(default=0)
    fee_fen = models.PositiveIntegerField(default=0)
    commission_fen = models.PositiveIntegerField(default=0)
    # Coupons on the line (fen, whole quantity): the creator's (out of her commission) and the
    # platform's (its marketing expense). A return reverses them in proportion to the units.
    creator_discount_fen = models.PositiveIntegerField(default=0)
    platform_discount_fen = models.PositiveIntegerField(default=0)
    # 7, or 0 when the product's return policy is one of the legal exceptions.
    return_days = models.PositiveSmallIntegerField(default=RETURN_DAYS)
    # Units in return cases that are not rejected or cancelled (requested, received, refunded).
    returned_quantity = models.PositiveIntegerField(default=0)
    # Units refunded so far: the fee and commission of a return are shared out in this order.
    refunded_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("supplier order line")
        verbose_name_plural = _("supplier order lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier_order", "line_ref"], name="fulfilment_line_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfilment_line_qty"),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("quantity"))
                & Q(refunded_quantity__lte=F("returned_quantity")),
                name="fulfilment_line_returned_within_qty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.option_label} ×{self.quantity}".strip()

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.returned_quantity

    @property
    def amount_fen(self) -> int:
        return self.retail_price_fen * self.quantity


class ReturnCase(models.Model):
    """A buyer sending goods of one supplier order back (7-day no-reason return)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("return requested")
        RECEIVED = "received", _("goods received by the supplier")
        REFUNDED = "refunded", _("refunded")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = (Status.REQUESTED, Status.RECEIVED)

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(_("order number"), max_length=64)
    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.PROTECT, related_name="return_cases"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # What goes back to the buyer: an estimate when requested, exact once refunded.
    refund_fen = models.PositiveBigIntegerField(default=0)
    # The delivery charge, refunded when this case brings back everything the supplier shipped.
    shipping_refund_fen = models.PositiveIntegerField(default=0)
    refund = models.ForeignKey(
        "billing.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider_refund_id = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    # The parcel the buyer sends back (entered on her order page): the supplier matches the
    # arriving parcel to this return by it, and staff can follow it in a dispute.
    return_carrier = models.CharField(_("return carrier"), max_length=40, blank=True)
    return_tracking_number = models.CharField(
        _("return tracking number"), max_length=40, blank=True
    )
    return_shipped_at = models.DateTimeField(_("sent back at"), null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["tenant", "order_number"], name="fulfilment_rc_order")]

    def __str__(self) -> str:
        return f"return {self.pk} of {self.order_number} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ReturnCaseLine(models.Model):
    """Units of one line in a return, and (once refunded) what was reversed for them."""

    case = models.ForeignKey(ReturnCase, on_delete=models.PROTECT, related_name="lines")
    line = models.ForeignKey(SupplierOrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # What the buyer paid for these units: retail price × quantity less their coupon shares.
    refund_fen = models.PositiveBigIntegerField(default=0)
    # The reversal's shares, fixed when the refund is made: supply + fee + commission =
    # refund + platform discount, and retail × quantity = supply + fee + commission + creator
    # discount (services._return_figures).
    supply_fen = models.PositiveBigIntegerField(default=0)
    fee_fen = models.PositiveBigIntegerField(default=0)
    commission_fen = models.PositiveBigIntegerField(default=0)
    creator_discount_fen = models.PositiveBigIntegerField(default=0)
    platform_discount_fen = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "line"], name="fulfilment_rcl_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfilment_rcl_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} ×{self.quantity}"


class FulfilmentEvent(models.Model):
    """History: every move of a supplier order or a return, who made it and when."""

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.PROTECT, related_name="events"
    )
    return_case = models.ForeignKey(
        ReturnCase, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fulfilment event")
        verbose_name_plural = _("fulfilment events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_status}→{self.to_status}"


class BuyerNotice(models.Model):
    """An e-mail the buyer was sent about a step: each step is told once."""

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.PROTECT, related_name="notices"
    )
    step = models.CharField(max_length=40)
    sent_to = models.CharField(max_length=254)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("buyer notice")
        verbose_name_plural = _("buyer notices")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier_order", "step"], name="fulfilment_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step} → {self.sent_to}"
