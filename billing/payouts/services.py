"""Payouts: make a batch, approve it, pay each payout once. Public schema.

Life of a batch:

    payout_batch_create  → awaiting_approval (one Payout per beneficiary whose available
                           balance is at least the minimum; amount = that balance, net of any
                           clawback already posted)
    payout_batch_approve → one approval per distinct staff member; the last one needed
                           (1, or 2 above VSTORE_PAYOUT_DUAL_APPROVAL_FEN) queues the payouts
    payout_execute       → per payout (Celery task payout_execute_task): queued → sending →
                           paid (ledger entry `payout:<pk>` posted in the same transaction),
                           or skipped when a clawback left less than the amount

Approval rule: the batch's creator may be one of the approvers (making a batch is a query of
balances, not a decision), but nobody approves the same batch twice, so a batch above the dual
threshold always has two different people behind it.

Crash safety: a payout is marked `sending` (committed) before the provider is called. A payout
found `sending` may have been paid, so it is resumed by asking the provider for its payout_no
first and only transferring when the provider never made the transfer; the provider is
idempotent by payout_no as a second guard. Recording the payout and posting its entry happen in
one transaction, under the payout's row lock, once.

The ledger entry: debit the beneficiary's available account (commission_available(tenant) or
supplier_available(supplier)) the amount, credit the payment clearing account of the payout
provider (AccountRef.clearing(provider)): the platform's funds held at that provider are what
leaves. No new account kind is needed for that.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger import AccountRef, entry_post
from billing.models import AccountKind
from core.money import yuan

from .models import BeneficiaryKind, Payout, PayoutApproval, PayoutBatch, PayoutEvent
from .providers import (
    Beneficiary,
    PayoutProviderError,
    PayoutRefused,
    TransferState,
    payout_provider,
    payout_provider_default,
)

if TYPE_CHECKING:
    from .providers import Transfer

logger = logging.getLogger(__name__)


class PayoutError(Exception):
    """A payout that cannot go on now (the provider is still processing it): retry later."""


def minimum_fen_default() -> int:
    return int(getattr(settings, "VSTORE_PAYOUT_MINIMUM_FEN", 10_000))


def dual_approval_fen() -> int:
    return int(getattr(settings, "VSTORE_PAYOUT_DUAL_APPROVAL_FEN", 5_000_000))


def available_ref(*, kind: str, beneficiary_id: int, currency: str = "CNY") -> AccountRef:
    """The ledger account a payout to this beneficiary pays out of."""
    if kind == BeneficiaryKind.CREATOR:
        return AccountRef.commission_available(beneficiary_id, currency)
    if kind == BeneficiaryKind.SUPPLIER:
        return AccountRef.supplier_available(beneficiary_id, currency)
    raise ValueError(f"unknown beneficiary kind {kind!r}")


def _available_kind(kind: str) -> str:
    if kind == BeneficiaryKind.CREATOR:
        return AccountKind.CREATOR_COMMISSION_AVAILABLE.value
    return AccountKind.SUPPLIER_AVAILABLE.value


def payout_key(payout: Payout) -> str:
    return f"payout:{payout.pk}"


def _event(
    *,
    batch: PayoutBatch,
    action: str,
    actor: Any = None,
    payout: Payout | None = None,
    **detail: Any,
) -> PayoutEvent:
    return PayoutEvent.objects.create(
        batch=batch,
        payout=payout,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        detail=detail,
    )


# --- batches ------------------------------------------------------------------------------------


def _payable_balances(
    *, kind: str, minimum_fen: int, currency: str, only: list[int] | None
) -> list[tuple[int, int]]:
    """(beneficiary id, owed fen) for every available account owing at least MINIMUM_FEN, and
    whose beneficiary has no unfinished payout. One query; owed = −balance (credits are
    negative), so a negative available balance (clawback after payout) is netted here."""
    owner = "tenant_id" if kind == BeneficiaryKind.CREATOR else "supplier_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.{owner}, -sum(p.amount)::bigint AS owed
              FROM billing_ledgeraccount a
              JOIN billing_posting p ON p.account_id = a.id
             WHERE a.kind = %s AND a.currency = %s
               AND (%s::bigint[] IS NULL OR a.{owner} = ANY(%s::bigint[]))
               AND NOT EXISTS (
                   SELECT 1 FROM payouts_payout o
                    WHERE o.{owner} = a.{owner} AND o.kind = %s
                      AND o.status IN ('awaiting_approval', 'queued', 'sending'))
             GROUP BY a.id, a.{owner}
            HAVING -sum(p.amount) >= %s
             ORDER BY a.{owner}
            """,  # noqa: S608 (owner is one of two fixed column names)
            [_available_kind(kind), currency, only, only, kind, minimum_fen],
        )
        return [(int(who), int(owed)) for who, owed in cursor.fetchall()]


def payout_no_new() -> str:
    # Unique and unguessable; 20 characters fit every provider's transfer number field.
    return f"PO{timezone.now():%y%m%d}{secrets.token_hex(6).upper()}"


def payout_batch_create(
    *,
    kind: str,
    minimum_fen: int | None = None,
    created_by: Any,
    currency: str = "CNY",
    provider: str | None = None,
    only: Sequence[int] | None = None,
) -> PayoutBatch:
    """Collect every beneficiary of KIND (creator or supplier) whose available balance is at
    least MINIMUM_FEN (default VSTORE_PAYOUT_MINIMUM_FEN) into one batch awaiting approval.

    Beneficiaries with an unfinished payout are left out (they are in a batch already). ONLY,
    when given, limits the batch to those tenant (or supplier) ids: paying a few by hand.
    Raises ValidationError when nobody is due: an empty batch is not made.
    """
    if kind not in BeneficiaryKind.values:
        raise ValidationError(_("Unknown payout kind."), code="payout_kind")
    minimum = minimum_fen_default() if minimum_fen is None else minimum_fen
    if not isinstance(minimum, int) or minimum < 1:
        raise ValidationError(_("The minimum must be at least 1 fen."), code="payout_minimum")
    provider = provider or payout_provider_default()
    payout_provider(provider)  # an unknown provider fails here, not in the worker
    with transaction.atomic():
        # One batch maker at a time per kind: the open-payout exclusion then sees every
        # payout a concurrent maker would add (the unique constraints are the last guard).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"payout-batch:{kind}"])
        due = _payable_balances(
            kind=kind,
            minimum_fen=minimum,
            currency=currency,
            only=None if only is None else [int(pk) for pk in only],
        )
        if not due:
            raise ValidationError(
                _("No %(kind)s has an available balance of at least the minimum.")
                % {"kind": BeneficiaryKind(kind).label},
                code="payout_nothing_due",
            )
        total = sum(owed for _who, owed in due)
        batch = PayoutBatch.objects.create(
            kind=kind,
            currency=currency,
            minimum_fen=minimum,
            total_fen=total,
            payout_count=len(due),
            approvals_required=2 if total > dual_approval_fen() else 1,
            provider=provider,
            created_by=created_by,
        )
        owner = "tenant_id" if kind == BeneficiaryKind.CREATOR else "supplier_id"
        Payout.objects.bulk_create(
            [
                Payout(
                    batch=batch,
                    kind=kind,
                    amount_fen=owed,
                    currency=currency,
                    payout_no=payout_no_new(),
                    provider=provider,
                    **{owner: who},
                )
                for who, owed in due
            ],
            batch_size=1000,
        )
        _event(
            batch=batch,
            action=PayoutEvent.Action.CREATED,
            actor=created_by,
            total_fen=total,
            payouts=len(due),
            minimum_fen=minimum,
            approvals_required=batch.approvals_required,
        )
    return batch


@dataclass(frozen=True)
class ApprovalResult:
    batch: PayoutBatch
    approvals: int
    executing: bool  # this approval was the last one needed: the payouts are queued


def payout_batch_approve(*, batch: PayoutBatch, user: Any, confirmed: bool) -> ApprovalResult:
    """Record USER's approval of BATCH; the last approval needed starts the execution.

    Refused (ValidationError, and an audit event) when USER is not staff, the approval was not
    confirmed, the batch is not awaiting approval, or USER has already approved it: a batch
    above the dual threshold needs two different people.
    """

    refusal = _approval_refusal(batch=batch, user=user, confirmed=confirmed)
    if refusal is None:
        with transaction.atomic():
            locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
            # Checked again under the lock: two approvals racing see each other here.
            refusal = _approval_refusal(batch=locked, user=user, confirmed=confirmed)
            if refusal is None:
                result = _approval_record(batch=locked, user=user)
    if refusal is not None:
        message, code = refusal
        # Outside the (rolled back or never opened) transaction: a refusal is audited too.
        _event(batch=batch, action=PayoutEvent.Action.APPROVAL_REFUSED, actor=user, reason=code)
        raise ValidationError(message, code=code)
    return result


def _approval_refusal(*, batch: PayoutBatch, user: Any, confirmed: bool) -> tuple[str, str] | None:
    if not getattr(user, "is_staff", False):
        return _("Only platform staff can approve payouts."), "payout_not_staff"
    if not confirmed:
        return (
            _("Tick the confirmation box to approve: the final approval sends the money."),
            "payout_not_confirmed",
        )
    if batch.status != PayoutBatch.Status.AWAITING_APPROVAL:
        return (
            _("This batch is %(status)s: it can no longer be approved.")
            % {"status": batch.get_status_display()},
            "payout_not_awaiting",
        )
    if batch.approvals.filter(user=user).exists():
        return (
            _(
                "You have already approved this batch. A batch above %(limit)s needs the "
                "approval of a second, different staff member."
            )
            % {"limit": _yuan(dual_approval_fen())},
            "payout_same_approver",
        )
    return None


def _approval_record(*, batch: PayoutBatch, user: Any) -> ApprovalResult:
    PayoutApproval.objects.create(batch=batch, user=user)
    approvals = batch.approvals.count()
    _event(
        batch=batch,
        action=PayoutEvent.Action.APPROVED,
        actor=user,
        approval=approvals,
        of=batch.approvals_required,
    )
    executing = approvals >= batch.approvals_required
    if executing:
        batch.status = PayoutBatch.Status.EXECUTING
        batch.approved_at = timezone.now()
        batch.save(update_fields=["status", "approved_at"])
        batch.payouts.filter(status=Payout.Status.AWAITING_APPROVAL).update(
            status=Payout.Status.QUEUED
        )
        _event(batch=batch, action=PayoutEvent.Action.EXECUTION_STARTED, actor=user)
        batch_id = batch.pk
        transaction.on_commit(lambda: payouts_enqueue(batch_id=batch_id))
    return ApprovalResult(batch=batch, approvals=approvals, executing=executing)


def payout_batch_cancel(*, batch: PayoutBatch, user: Any) -> PayoutBatch:
    """Cancel a batch still awaiting approval: its beneficiaries can go in the next batch."""
    with transaction.atomic():
        locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != PayoutBatch.Status.AWAITING_APPROVAL:
            raise ValidationError(
                _("Only a batch awaiting approval can be cancelled."), code="payout_not_awaiting"
            )
        locked.status = PayoutBatch.Status.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        locked.payouts.update(status=Payout.Status.CANCELLED)
        _event(batch=locked, action=PayoutEvent.Action.CANCELLED, actor=user)
    return locked


def payouts_enqueue(*, batch_id: int) -> int:
    """Queue one payout_execute_task per queued payout of the batch (after the commit)."""
    ids = list(
        Payout.objects.filter(batch_id=batch_id, status=Payout.Status.QUEUED).values_list(
            "pk", flat=True
        )
    )
    payout_tasks_send(payout_ids=ids)
    return len(ids)


def payout_tasks_send(*, payout_ids: Sequence[int]) -> None:
    """Queue payout_execute_task for each payout, over one broker connection. A dedicated queue
    (VSTORE_PAYOUT_QUEUE) lets payouts run on their own workers; empty: the default queue."""
    from .tasks import payout_execute_task

    queue = getattr(settings, "VSTORE_PAYOUT_QUEUE", "") or None
    with payout_execute_task.app.producer_or_acquire() as producer:
        for payout_id in payout_ids:
            # ignore_result: nobody waits on these (the payout row is the result), and a result
            # subscription per message would cost a Redis round trip each.
            payout_execute_task.apply_async(
                kwargs={"payout_id": payout_id},
                queue=queue,
                producer=producer,
                ignore_result=True,
            )


def _yuan(fen: int) -> str:
    return yuan(fen)


# --- one payout ---------------------------------------------------------------------------------


def _beneficiary(payout: Payout) -> Beneficiary:
    who = payout.beneficiary_id  # raises when the payout has none (payout_one_beneficiary)
    if payout.kind == BeneficiaryKind.CREATOR:
        name = payout.tenant.name if payout.tenant else ""
    else:
        name = payout.supplier.company_name if payout.supplier else ""
    return Beneficiary(kind=payout.kind, id=who, name=name)


def _available_owed(payout: Payout) -> int:
    """What the beneficiary's available account owes now, in one query (owed_fen takes two)."""
    owner = "tenant_id" if payout.kind == BeneficiaryKind.CREATOR else "supplier_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT -coalesce(sum(p.amount), 0)::bigint
              FROM billing_ledgeraccount a JOIN billing_posting p ON p.account_id = a.id
             WHERE a.kind = %s AND a.currency = %s AND a.{owner} = %s
            """,  # noqa: S608 (owner is one of two fixed column names)
            [_available_kind(payout.kind), payout.currency, payout.beneficiary_id],
        )
        return int(cursor.fetchone()[0])


def payout_execute(*, payout_id: int) -> Payout:
    """Pay one payout, once, however often it is called and wherever a previous call died.

    queued  → (balance still covers it?) sending, committed → provider.transfer → record
    sending → provider.query(payout_no): made → record; never made → transfer → record
    paid / skipped / failed / cancelled → nothing (returned as is)

    Raises PayoutProviderError (retry later) and PayoutError (provider still processing).
    """
    payout, resumed = _payout_start(payout_id)
    if payout.status != Payout.Status.SENDING:
        payout_batch_finish(batch_id=payout.batch_id)
        return payout
    # Committed "sending": from here on a crash leaves it so, and the next run asks the
    # provider before paying anything.
    provider = payout_provider(payout.provider)
    transfer: Transfer | None = provider.query(payout.payout_no) if resumed else None
    if transfer is None:
        try:
            transfer = provider.transfer(
                payout_no=payout.payout_no,
                amount_fen=payout.amount_fen,
                currency=payout.currency,
                beneficiary=_beneficiary(payout),
            )
        except PayoutRefused as exc:
            transfer = None
            done = payout_fail(payout_id=payout_id, reason=str(exc))
    if transfer is not None:
        if transfer.state == TransferState.PROCESSING:
            raise PayoutError(f"payout {payout.payout_no}: the provider is still processing it")
        if transfer.state == TransferState.FAILED:
            done = payout_fail(payout_id=payout_id, reason=transfer.reason or "provider: failed")
        else:
            done = payout_record(payout_id=payout_id, provider_ref=transfer.provider_ref)
    payout_batch_finish(batch_id=done.batch_id)
    return done


def _payout_start(payout_id: int) -> tuple[Payout, bool]:
    """Lock the payout and move it on: queued → sending (or skipped when a clawback left less
    than the amount). Returns it and whether it was already sending (a resumed run)."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",))
            .select_related("batch", "tenant", "supplier")
            .get(pk=payout_id)
        )
        if payout.status not in (Payout.Status.QUEUED, Payout.Status.SENDING):
            return payout, False
        resumed = payout.status == Payout.Status.SENDING
        payout.attempts += 1
        if resumed:
            payout.save(update_fields=["attempts"])
            return payout, True
        owed = _available_owed(payout)
        if owed < payout.amount_fen:
            # A clawback after approval: pay nothing now; the next batch pays the net balance.
            payout.status = Payout.Status.SKIPPED
            payout.last_error = f"available balance {owed} fen < amount {payout.amount_fen} fen"
            payout.save(update_fields=["status", "last_error", "attempts"])
            _event(
                batch=payout.batch,
                payout=payout,
                action=PayoutEvent.Action.SKIPPED,
                available_fen=owed,
            )
            return payout, False
        payout.status = Payout.Status.SENDING
        payout.sent_at = timezone.now()
        payout.save(update_fields=["status", "sent_at", "attempts"])
        _event(batch=payout.batch, payout=payout, action=PayoutEvent.Action.SENDING)
    return payout, False


def payout_record(*, payout_id: int, provider_ref: str) -> Payout:
    """Record a payout the provider made, and post its ledger entry: once, in one transaction."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",))
            .select_related("batch", "tenant")
            .get(pk=payout_id)
        )
        if payout.status == Payout.Status.PAID:
            return payout
        entry = entry_post(
            key=payout_key(payout),
            lines=[
                (
                    available_ref(
                        kind=payout.kind,
                        beneficiary_id=payout.beneficiary_id,
                        currency=payout.currency,
                    ),
                    payout.amount_fen,
                ),
                (AccountRef.clearing(_clearing(payout), payout.currency), -payout.amount_fen),
            ],
            memo=f"payout {payout.payout_no} ({payout.kind} {payout.beneficiary_id})",
            tenant=payout.tenant if payout.kind == BeneficiaryKind.CREATOR else None,
        )
        payout.status = Payout.Status.PAID
        payout.provider_ref = provider_ref
        payout.journal_entry = entry
        payout.paid_at = timezone.now()
        payout.last_error = ""
        payout.save(
            update_fields=["status", "provider_ref", "journal_entry", "paid_at", "last_error"]
        )
        _event(
            batch=payout.batch,
            payout=payout,
            action=PayoutEvent.Action.PAID,
            provider_ref=provider_ref,
            amount_fen=payout.amount_fen,
        )
    return payout


def _clearing(payout: Payout) -> str:
    return payout_provider(payout.provider).clearing_provider()


def payout_fail(*, payout_id: int, reason: str) -> Payout:
    """The provider refused the payout for good: nothing was paid, nothing is posted; the
    balance stays available and the next batch includes it."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",)).select_related("batch").get(pk=payout_id)
        )
        if payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return payout
        payout.status = Payout.Status.FAILED
        payout.last_error = reason[:2000]
        payout.save(update_fields=["status", "last_error"])
        _event(batch=payout.batch, payout=payout, action=PayoutEvent.Action.FAILED, reason=reason)
    logger.error("payout %s failed: %s", payout.payout_no, reason)
    return payout


def payout_batch_finish(*, batch_id: int) -> bool:
    """Mark an executing batch done once none of its payouts is still open."""
    if Payout.objects.filter(batch_id=batch_id, status__in=Payout.OPEN).exists():
        # Not the last one: no lock taken, so payouts of one batch never wait on each other.
        return False
    with transaction.atomic():
        batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != PayoutBatch.Status.EXECUTING:
            return batch.status == PayoutBatch.Status.DONE
        if batch.payouts.filter(status__in=Payout.OPEN).exists():
            return False
        batch.status = PayoutBatch.Status.DONE
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "finished_at"])
        _event(batch=batch, action=PayoutEvent.Action.FINISHED)
    return True


def payouts_stuck(*, older_than_seconds: int = 600) -> Sequence[int]:
    """Payouts queued or sending for longer than OLDER_THAN_SECONDS: a lost task or a worker
    that died mid-payout. The resume sweep queues them again (payout_execute is safe to rerun)."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Payout.objects.filter(
            Q(status=Payout.Status.QUEUED, batch__approved_at__lt=since)
            | Q(status=Payout.Status.SENDING, sent_at__lt=since)
        ).values_list("pk", flat=True)
    )


__all__ = [
    "ApprovalResult",
    "PayoutError",
    "PayoutProviderError",
    "available_ref",
    "payout_batch_approve",
    "payout_batch_cancel",
    "payout_batch_create",
    "payout_execute",
    "payout_record",
    "payouts_enqueue",
]
