"""Payments, the notifications that move them and the refunds paid out of them. Public schema.

Public tables never point into a shop's schema: a payment names the shop's order by
(tenant, order_number). Money is an integer number of fen plus a currency code.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
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
    # The provider's way to pay it was placed through ("jsapi", "h5", "native"; "" for the
    # provider's default). A payment is reused only through the same channel: WeChat Pay never
    # takes one out_trade_no through two trade types.
    channel = models.CharField(max_length=8, blank=True, default="")
    expires_at = models.DateTimeField()
    captured_at = models.DateTimeField(null=True, blank=True)
    # Refunds asked for and not failed (pending, processing or succeeded), in fen.
    refunded_amount = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
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
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
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
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
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
        verbose_name = _("sandbox trade")
        verbose_name_plural = _("sandbox trades")
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")), name="sandbox_refund_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"sandbox {self.out_trade_no} ({self.status})"


# --- ledger -------------------------------------------------------------------------------------
#
# Double-entry and append-only. A posting's amount is signed fen: a debit is positive, a credit
# negative, so "every entry balances" is simply "its postings sum to zero per currency". Assets
# (payment clearing) grow with debits; liabilities and revenue (payables, commissions, platform
# revenue) grow with credits, so their balances are negative in this sign convention.
# The database refuses unbalanced entries (a deferred constraint trigger, checked at commit) and
# any UPDATE, DELETE or TRUNCATE of entries and postings (migration 0002): a correction is a new
# entry.


class AccountKind(models.TextChoices):
    PLATFORM_REVENUE = "platform_revenue", _("platform revenue")
    PAYMENT_CLEARING = "payment_clearing", _("payment clearing")
    SUPPLIER_PAYABLE = "supplier_payable", _("supplier payable")
    CREATOR_COMMISSION_PENDING = "creator_commission_pending", _("creator commission (pending)")
    CREATOR_COMMISSION_AVAILABLE = (
        "creator_commission_available",
        _("creator commission (available)"),
    )
    REFUNDS_PAYABLE = "refunds_payable", _("refunds payable")
    # What a supplier is owed once the return window of the goods closed: payouts pay this.
    SUPPLIER_AVAILABLE = "supplier_available", _("supplier payable (available)")
    # What the platform spends on its own coupons (an expense: debited, so its balance is
    # positive); it may exceed the platform's fee on an order.
    PLATFORM_MARKETING = "platform_marketing", _("platform marketing expense")


# Which owner each kind of account has: exactly one of supplier / tenant / provider, or none.
ACCOUNT_OWNER = {
    AccountKind.PLATFORM_REVENUE: None,
    AccountKind.PAYMENT_CLEARING: "provider",
    AccountKind.SUPPLIER_PAYABLE: "supplier",
    AccountKind.CREATOR_COMMISSION_PENDING: "tenant",
    AccountKind.CREATOR_COMMISSION_AVAILABLE: "tenant",
    AccountKind.REFUNDS_PAYABLE: "provider",
    AccountKind.SUPPLIER_AVAILABLE: "supplier",
    AccountKind.PLATFORM_MARKETING: None,
}


def _owner_condition() -> Q:
    condition = Q()
    for kind, owner in ACCOUNT_OWNER.items():
        has = {
            "supplier": Q(supplier__isnull=owner != "supplier"),
            "tenant": Q(tenant__isnull=owner != "tenant"),
            "provider": ~Q(provider="") if owner == "provider" else Q(provider=""),
        }
        condition |= Q(kind=kind.value) & has["supplier"] & has["tenant"] & has["provider"]
    return condition


class LedgerAccount(models.Model):
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    currency = models.CharField(max_length=3, default="CNY")
    # The owner, by kind (ACCOUNT_OWNER): a supplier's payable, a creator shop's commissions,
    # a provider's clearing account. PROTECT: an owner with money records cannot be deleted.
    supplier = models.ForeignKey(
        "catalog.Supplier", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.CharField(max_length=16, blank=True, choices=Provider.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "supplier", "tenant", "provider"],
                name="ledger_account_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=_owner_condition(), name="ledger_account_owner"),
        ]

    def __str__(self) -> str:
        owner = self.supplier_id or self.tenant_id or self.provider or "platform"
        return f"{self.kind}:{owner} {self.currency}"


class JournalEntry(models.Model):
    # A retried task or a repeated call with the same key posts nothing new.
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=200, blank=True)
    # What the entry is about: a shop's order by (tenant, order_number), and/or a payment.
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order_number = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        indexes = [models.Index(fields=["tenant", "order_number"])]

    def __str__(self) -> str:
        return self.idempotency_key


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    # Signed fen: debit positive, credit negative (see the top of this section).
    amount = models.BigIntegerField()
    # The account's currency, repeated so an entry's per-currency sum needs no join.
    currency = models.CharField(max_length=3)
    # "<entry key>#<n>": each posting can be named and is made once.
    idempotency_key = models.CharField(max_length=210, unique=True)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_posting_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} {self.amount:+d} {self.currency}"


class CommissionRule(models.Model):
    """Who earns commission on a shop's sales: only that shop's own creator (single level).

    China's 禁止传销条例 (art. 7) outlaws pay that depends on recruiting others or on their sales,
    and entry fees to join. So the only rule there is says: the selling shop's creator earns on
    the selling shop's sales. `billing.ledger.commission_rule_set` refuses anything else with a
    ValidationError, and the check constraints refuse it in the database too.
    """

    class Basis(models.TextChoices):
        OWN_SHOP_SALES = "own_shop_sales", _("the shop's own sales")

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="commission_rule"
    )
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.OWN_SHOP_SALES)
    beneficiary = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(beneficiary=F("tenant")), name="commission_single_level_beneficiary"
            ),
            models.CheckConstraint(
                condition=Q(basis="own_shop_sales"), name="commission_single_level_basis"
            ),
        ]

    def __str__(self) -> str:
        return f"commission: shop {self.tenant_id} → its own creator"

    def clean(self) -> None:
        # The same refusal as billing.ledger.commission_rule_set, for forms and the admin.
        if self.beneficiary_id != self.tenant_id or self.basis != self.Basis.OWN_SHOP_SALES:
            raise ValidationError(
                "Refused: commission goes only to the selling shop's own creator, on her own "
                "shop's sales (no override, no recruitment reward, no paid membership; "
                "禁止传销条例 art. 7).",
                code="commission_single_level",
            )
