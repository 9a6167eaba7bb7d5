"""Reads for payouts: batches for staff, earnings and payouts for creators and suppliers.

Earnings are summed from the ledger (no stored figure can drift): pending and available are
what the accounts owe (positive while owed; available is negative after a clawback that came
after a payout, until new commission nets it), paid out is the sum of paid payouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Prefetch, QuerySet, Sum

from billing.models import AccountKind

from .models import BeneficiaryKind, Payout, PayoutApproval, PayoutBatch, PayoutEvent


def payout_batches(*, status: str = "", kind: str = "") -> QuerySet[PayoutBatch]:
    batches = PayoutBatch.objects.select_related("created_by").annotate(
        approval_count=Count("approvals")
    )
    if status:
        batches = batches.filter(status=status)
    if kind:
        batches = batches.filter(kind=kind)
    return batches.order_by("-created_at", "-pk")


def payout_batch_get(*, pk: int) -> PayoutBatch:
    return (
        PayoutBatch.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("approvals", queryset=PayoutApproval.objects.select_related("user"))
        )
        .get(pk=pk)
    )


def payout_batch_payouts(*, batch: PayoutBatch) -> QuerySet[Payout]:
    return batch.payouts.select_related("tenant", "supplier").order_by("pk")


def payout_batch_events(*, batch: PayoutBatch) -> QuerySet[PayoutEvent]:
    return batch.events.select_related("actor", "payout").order_by("-created_at", "-pk")


def payout_batch_status_counts(*, batch: PayoutBatch) -> dict[str, int]:
    rows = batch.payouts.values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Earnings:
    """A beneficiary's figures in fen: pending (not yet settled), available (to be paid out),
    in payment (in an unfinished payout), paid out (every paid payout)."""

    pending_fen: int
    available_fen: int
    in_payment_fen: int
    paid_out_fen: int


def _owed_by_kind(*, owner_column: str, owner_id: int, kinds: list[str], currency: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.kind, -coalesce(sum(p.amount), 0)::bigint
              FROM billing_ledgeraccount a
              JOIN billing_posting p ON p.account_id = a.id
             WHERE a.{owner_column} = %s AND a.kind = ANY(%s) AND a.currency = %s
             GROUP BY a.kind
            """,  # noqa: S608 (owner_column is one of two fixed names)
            [owner_id, kinds, currency],
        )
        return {kind: int(owed) for kind, owed in cursor.fetchall()}


def _payout_sums(payouts: QuerySet[Payout]) -> tuple[int, int]:
    paid = payouts.filter(status=Payout.Status.PAID).aggregate(s=Sum("amount_fen"))["s"]
    open_ = payouts.filter(status__in=Payout.OPEN).aggregate(s=Sum("amount_fen"))["s"]
    return int(paid or 0), int(open_ or 0)


def creator_earnings(*, tenant_id: int, currency: str = "CNY") -> Earnings:
    """TENANT_ID's commission figures. Callers pass the tenant of the current request (its
    schema), never an id from the request: a creator sees only her own shop."""
    pending, available = (
        AccountKind.CREATOR_COMMISSION_PENDING.value,
        AccountKind.CREATOR_COMMISSION_AVAILABLE.value,
    )
    owed = _owed_by_kind(
        owner_column="tenant_id", owner_id=tenant_id, kinds=[pending, available], currency=currency
    )
    paid, open_ = _payout_sums(creator_payouts(tenant_id=tenant_id).filter(currency=currency))
    return Earnings(
        pending_fen=owed.get(pending, 0),
        available_fen=owed.get(available, 0),
        in_payment_fen=open_,
        paid_out_fen=paid,
    )


def supplier_earnings(*, supplier_id: int, currency: str = "CNY") -> Earnings:
    """A supplier's payable figures: pending (goods in their return window), available."""
    pending = AccountKind.SUPPLIER_PAYABLE.value
    available = getattr(AccountKind, "SUPPLIER_AVAILABLE", None)
    kinds = [pending] + ([available.value] if available is not None else [])
    owed = _owed_by_kind(
        owner_column="supplier_id", owner_id=supplier_id, kinds=kinds, currency=currency
    )
    paid, open_ = _payout_sums(supplier_payouts(supplier_id=supplier_id).filter(currency=currency))
    return Earnings(
        pending_fen=owed.get(pending, 0),
        available_fen=owed.get(available.value, 0) if available is not None else 0,
        in_payment_fen=open_,
        paid_out_fen=paid,
    )


def creator_payouts(*, tenant_id: int) -> QuerySet[Payout]:
    """The shop's payouts, newest first (cancelled ones left out: nothing happened)."""
    return (
        Payout.objects.filter(kind=BeneficiaryKind.CREATOR, tenant_id=tenant_id)
        .exclude(status=Payout.Status.CANCELLED)
        .order_by("-created_at", "-pk")
    )


def supplier_payouts(*, supplier_id: int) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(kind=BeneficiaryKind.SUPPLIER, supplier_id=supplier_id)
        .exclude(status=Payout.Status.CANCELLED)
        .order_by("-created_at", "-pk")
    )
