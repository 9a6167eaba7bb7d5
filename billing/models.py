"""Payments, the notifications that move them and the refunds paid out of them. Public schema.

Public tables never point into a shop's schema: a payment names the shop's order by
(tenant, order_number). Money is an integer number of fen plus a currency code.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    WECHATPAY = "wechatpay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class Payment(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("created")
        CAPTURED = "captured", _("captured")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        REFUNDED = "refunded", _("refunded")
        EXPIRED = "expired", _("expired")

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="payments")
    order_number = models.CharField(max_length=64)
    amount = models.PositiveBigIntegerField(help_text=_("fen"))
    currency = models.CharField(max_length=3, default="CNY")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # What the provider knows the payment by; ours, unique across every shop.
    out_trade_no = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    provider_trade_id = models.CharField(max_length=64, blank=True)
    # Where the buyer goes to pay, as the provider gave it (a pay page URL, or a QR code's text).
    checkout_url = models.TextField(blank=True)
    checkout_kind = models.CharField(max_length=8, blank=True)
    expires_at = models.DateTimeField()
    captured_at = models.DateTimeField(null=True, blank=True)
    # Refunds asked for and not failed (pending, processing or succeeded), in fen.
    refunded_amount = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "order_number"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")), name="payment_refund_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=[p.value for p in Provider]), name="payment_provider_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.amount} {self.currency} ({self.status})"

    @property
    def refundable_amount(self) -> int:
        if self.status not in (self.Status.CAPTURED, self.Status.PARTIALLY_REFUNDED):
            return 0
        return self.amount - self.refunded_amount


class PaymentNotification(models.Model):
    """One verified notification, recorded before it is acted on: its id makes replays no-ops."""

    class Outcome(models.TextChoices):
        CAPTURED = "captured", _("captured the payment")
        ALREADY_CAPTURED = "already_captured", _("payment already captured: no change")
        REFUNDED_EXPIRED = "refunded_expired", _("paid after expiry: refunded")
        REFUSED_AMOUNT = "refused_amount", _("refused: amount or currency mismatch")
        REFUSED_MERCHANT = "refused_merchant", _("refused: merchant or app mismatch")
        REFUND_CONFIRMED = "refund_confirmed", _("refund confirmed")
        REFUND_FAILED = "refund_failed", _("refund failed")
        UNKNOWN_PAYMENT = "unknown_payment", _("no such payment: acknowledged")
        IGNORED = "ignored", _("no change (event without effect in this state)")

    provider = models.CharField(max_length=16, choices=Provider.choices)
    notification_id = models.CharField(max_length=128)
    event = models.CharField(max_length=32)
    out_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    raw_body = models.TextField()
    headers = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "notification_id"], name="payment_notification_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.notification_id} {self.event} → {self.outcome}"

    @property
    def accepted(self) -> bool:
        """False when the notification was refused: the provider is told so and retries."""
        return self.outcome not in (self.Outcome.REFUSED_AMOUNT, self.Outcome.REFUSED_MERCHANT)


class Refund(models.Model):
    class Status(models.TextChoices):
        # Recorded, the provider not (yet) reached: calling payment_refund again retries it.
        PENDING = "pending", _("pending")
        PROCESSING = "processing", _("processing at the provider")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField(help_text=_("fen"))
    idempotency_key = models.CharField(max_length=128, unique=True)
    # What the provider knows the refund by (WeChat out_refund_no, Alipay out_request_no).
    out_refund_no = models.CharField(max_length=64, unique=True)
    provider_refund_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=80, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.out_refund_no} {self.amount} ({self.status})"


class SandboxTrade(models.Model):
    """The sandbox provider's own books: what it was asked to collect and what the buyer did.

    Kept apart from Payment on purpose, so the sandbox behaves like an outside provider: it only
    tells us about a payment through a signed notification.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting for the buyer")
        PAID = "paid", _("paid")
        CLOSED = "closed", _("closed")

    out_trade_no = models.CharField(max_length=32, unique=True)
    trade_id = models.CharField(max_length=40, unique=True)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=128, blank=True)
    notify_url = models.URLField(max_length=300)
    return_url = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    # out_refund_no → amount: a refund asked for twice is made once.
    refunds = models.JSONField(default=dict)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")), name="sandbox_refund_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"sandbox {self.out_trade_no} ({self.status})"
