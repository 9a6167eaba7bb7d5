"""Payout batches, payouts, staff approvals and the audit trail. Public schema.

A batch collects every beneficiary (a creator's shop, or a supplier) whose available balance
reached the minimum, one Payout each. Staff approve it in the console (two distinct people above
VSTORE_PAYOUT_DUAL_APPROVAL_FEN); the final approval queues one Celery task per payout, which
pays through a payout provider and posts the ledger entry `payout:<pk>` once.

Public tables never point into a shop's schema; a shop is named by its Tenant row (public).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BeneficiaryKind(models.TextChoices):
    CREATOR = "creator", _("creators")
    SUPPLIER = "supplier", _("suppliers")


class PayoutBatch(models.Model):
    class Status(models.TextChoices):
        # Made, waiting for staff approval (one, or two distinct above the dual threshold).
        AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
        # Approved: its payouts are queued and being paid.
        EXECUTING = "executing", _("executing")
        # Every payout reached an end state (paid, skipped or failed).
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    kind = models.CharField(max_length=8, choices=BeneficiaryKind.choices)
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_APPROVAL
    )
    minimum_fen = models.PositiveBigIntegerField()
    total_fen = models.PositiveBigIntegerField(default=0)
    payout_count = models.PositiveIntegerField(default=0)
    # Fixed when the batch is made, so a settings change cannot lower the bar for a batch
    # already waiting for approval.
    approvals_required = models.PositiveSmallIntegerField(default=1)
    provider = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approvals_required__in=[1, 2]), name="payout_batch_approvals_1_or_2"
            ),
        ]

    def __str__(self) -> str:
        return f"payout batch {self.pk} ({self.kind}, {self.payout_count} payouts)"


class Payout(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
        QUEUED = "queued", _("queued")
        # Marked before the provider is called: a payout found "sending" may have been paid,
        # so it is resumed by asking the provider (query by payout_no), never by paying blindly.
        SENDING = "sending", _("sending")
        PAID = "paid", _("paid")
        # Not paid because the available balance fell below the amount after approval (a
        # clawback): the next batch pays the net balance.
        SKIPPED = "skipped", _("skipped (balance changed)")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = (Status.AWAITING_APPROVAL, Status.QUEUED, Status.SENDING)

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(max_length=8, choices=BeneficiaryKind.choices)
    # Exactly one beneficiary, by kind. PROTECT: a payee with payouts cannot be deleted.
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="payouts"
    )
    supplier = models.ForeignKey(
        "catalog.Supplier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payouts",
    )
    amount_fen = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    # What the payout provider knows the transfer by: the idempotency key of the transfer.
    payout_no = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_APPROVAL
    )
    provider = models.CharField(max_length=16)
    provider_ref = models.CharField(max_length=64, blank=True)
    journal_entry = models.OneToOneField(
        "billing.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["supplier", "-created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=(
                    Q(kind="creator", tenant__isnull=False, supplier__isnull=True)
                    | Q(kind="supplier", supplier__isnull=False, tenant__isnull=True)
                ),
                name="payout_one_beneficiary",
            ),
            # At most one unfinished payout per beneficiary: two batches made at once cannot
            # both pay the same balance.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status__in=["awaiting_approval", "queued", "sending"]),
                name="payout_one_open_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["supplier"],
                condition=Q(status__in=["awaiting_approval", "queued", "sending"]),
                name="payout_one_open_per_supplier",
            ),
            models.CheckConstraint(
                condition=Q(status="paid", journal_entry__isnull=False)
                | (~Q(status="paid") & Q(journal_entry__isnull=True)),
                name="payout_paid_iff_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payout_no} {self.amount_fen} {self.currency} ({self.status})"

    @property
    def beneficiary_id(self) -> int:
        who = self.tenant_id if self.kind == BeneficiaryKind.CREATOR else self.supplier_id
        if who is None:  # payout_one_beneficiary forbids it once saved
            raise ValueError(f"payout {self.payout_no} has no {self.kind} beneficiary")
        return who


class PayoutApproval(models.Model):
    """One staff member's approval of a batch: the same person cannot approve a batch twice."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payout approval")
        verbose_name_plural = _("payout approvals")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "user"], name="payout_approval_once_each"),
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} approved by {self.user_id}"


class PayoutEvent(models.Model):
    """The audit trail: who did what to a batch or payout, and when. Append-only by use."""

    class Action(models.TextChoices):
        CREATED = "created", _("batch created")
        APPROVED = "approved", _("approved")
        APPROVAL_REFUSED = "approval_refused", _("approval refused")
        EXECUTION_STARTED = "execution_started", _("execution started")
        CANCELLED = "cancelled", _("cancelled")
        SENDING = "sending", _("sent to the provider")
        PAID = "paid", _("paid")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")
        FINISHED = "finished", _("batch finished")

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="events")
    payout = models.ForeignKey(
        Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payout event")
        verbose_name_plural = _("payout events")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} batch {self.batch_id} by {self.actor_id or 'system'}"


class SandboxTransfer(models.Model):
    """The sandbox payout provider's own books: each transfer it made, once per payout_no.

    Kept apart from Payout on purpose, so the sandbox behaves like an outside provider that
    only knows what it was asked to do (like billing.SandboxTrade for payments).
    """

    payout_no = models.CharField(max_length=32, unique=True)
    transfer_id = models.CharField(max_length=40, unique=True)
    amount_fen = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    beneficiary = models.CharField(max_length=64)
    beneficiary_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox transfer {self.payout_no} {self.amount_fen}"
