"""Price adjustments of a captured order before it is fulfilled: money back to the buyer and
the ledger moved to match (a group buy's final tier, a failed group's full refund).

The capture entry (billing.ledger.capture_post) booked the order at the price the buyer paid.
When the price the order really ends at is lower, two things happen, each safe to repeat:

1. `adjustment_refund`: the difference goes back through the provider as a partial refund,
   once per idempotency key (the same key reaches the provider with the same refund number,
   as WeChat Pay requires on a retry; WeChat allows at most 50 partial refunds per order).
2. `adjustment_post`: one balanced entry moves every account the payment touched from what is
   booked now to what the capture of the final lines would have booked: the supplier's payable
   stays (the supply price is the same), the fee and the commission are those of the final
   price, and the clearing account gives back exactly the refund. In effect the capture is
   reversed in proportion and posted again at the final price, without touching posted rows.

`reversal_post` undoes everything booked for the payment (a full refund before any supplier
order was made). Both are keyed: a rerun after a crash posts nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum

from .ledger import (
    AccountRef,
    CaptureLine,
    EntrySpec,
    LedgerError,
    capture_split,
    entries_post_many,
)
from .models import JournalEntry, LedgerAccount, Payment, Posting, Refund
from .services import RefundRefused, payment_refund

# WeChat Pay refuses the 51st partial refund of one payment; Alipay allows more. Everyone gets
# the stricter rule, so a group buy never depends on which provider a buyer paid with.
PARTIAL_REFUNDS_MAX = 50


def capture_targets(
    *, payment: Payment, lines: Sequence[CaptureLine], take_rate_bp: int | None = None
) -> dict[AccountRef, int]:
    """What capture_post would book, per account (signed fen), for PAYMENT made of LINES: the
    final state an adjustment moves the payment's accounts to."""
    rate = settings.VSTORE_PLATFORM_TAKE_RATE_BP if take_rate_bp is None else take_rate_bp
    splits = capture_split(lines=lines, take_rate_bp=rate)
    currency = payment.currency
    out: defaultdict[AccountRef, int] = defaultdict(int)
    out[AccountRef.clearing(payment.provider, currency)] += sum(s.paid_fen for s in splits)
    out[AccountRef.platform_marketing(currency)] += sum(s.platform_discount_fen for s in splits)
    for line, split in zip(lines, splits, strict=True):
        out[AccountRef.supplier_payable(line.supplier_id, currency)] -= split.supply_fen
    shop = AccountRef.commission_pending(payment.tenant_id, currency)
    out[shop] -= sum(s.commission_fen for s in splits)
    out[AccountRef.platform_revenue(currency)] -= sum(s.fee_fen for s in splits)
    return {ref: amount for ref, amount in out.items() if amount}


def payment_balances(*, payment: Payment) -> dict[AccountRef, int]:
    """Everything booked for PAYMENT so far (its capture, returns, adjustments), per account."""
    sums = (
        Posting.objects.filter(entry__payment=payment)
        .values("account")
        .annotate(total=Sum("amount"))
    )
    accounts = LedgerAccount.objects.in_bulk([row["account"] for row in sums])
    out: defaultdict[AccountRef, int] = defaultdict(int)
    for row in sums:
        out[AccountRef.of(accounts[row["account"]])] += row["total"]
    return {ref: amount for ref, amount in out.items() if amount}


def adjustment_refund(*, payment: Payment, amount: int, key: str, reason: str = "") -> Refund:
    """Refund AMOUNT fen of PAYMENT's price difference through its provider, once per KEY.

    Raises RefundRefused beyond the provider's partial refunds per order (a key used before
    is always answered: it names a refund that exists) and billing's ProviderError when the
    provider cannot be reached (the refund stays pending: call again with the same KEY).
    """
    existing = Refund.objects.filter(idempotency_key=key).first()
    if existing is None and payment.refunds.count() >= PARTIAL_REFUNDS_MAX:
        raise RefundRefused(
            f"payment {payment.out_trade_no} has {PARTIAL_REFUNDS_MAX} refunds already: "
            "the provider takes no more"
        )
    return payment_refund(payment=payment, amount=amount, idempotency_key=key, reason=reason)


def _delta_spec(
    *, payment: Payment, key: str, delta: dict[AccountRef, int], refund_fen: int, memo: str
) -> EntrySpec | None:
    clearing = AccountRef.clearing(payment.provider, payment.currency)
    if delta.get(clearing, 0) != -refund_fen:
        raise LedgerError(
            f"adjustment {key}: the clearing account moves {delta.get(clearing, 0)} fen, "
            f"not the refund of {refund_fen} fen"
        )
    lines = sorted((ref, amount) for ref, amount in delta.items() if amount)
    if not lines:
        return None
    return EntrySpec(
        key=key,
        lines=lines,
        memo=memo[:200],
        tenant=payment.tenant,
        order_number=payment.order_number,
        payment=payment,
    )


def _post_delta(
    *, payment: Payment, key: str, delta: dict[AccountRef, int], refund_fen: int, memo: str
) -> JournalEntry | None:
    spec = _delta_spec(payment=payment, key=key, delta=delta, refund_fen=refund_fen, memo=memo)
    if spec is None:
        return None
    return entries_post_many(entries=[spec])[0]


def adjustment_post(
    *,
    payment: Payment,
    lines: Sequence[CaptureLine],
    refund_fen: int,
    key: str,
    memo: str = "",
) -> JournalEntry | None:
    """Move PAYMENT's accounts to what the capture of LINES (the final prices) books, the
    REFUND_FEN of the difference leaving through the clearing account; once per KEY (call it
    in the transaction that records the new prices). LedgerError if the figures disagree."""
    existing = JournalEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    target = capture_targets(payment=payment, lines=lines)
    now = payment_balances(payment=payment)
    delta = {ref: target.get(ref, 0) - now.get(ref, 0) for ref in set(target) | set(now)}
    return _post_delta(payment=payment, key=key, delta=delta, refund_fen=refund_fen, memo=memo)


def reversal_post(
    *, payment: Payment, refund_fen: int, key: str, memo: str = ""
) -> JournalEntry | None:
    """Undo everything booked for PAYMENT (refunded in full, REFUND_FEN, before any supplier
    order); once per KEY."""
    existing = JournalEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    delta = {ref: -amount for ref, amount in payment_balances(payment=payment).items()}
    return _post_delta(payment=payment, key=key, delta=delta, refund_fen=refund_fen, memo=memo)


@dataclass(frozen=True)
class Adjustment:
    """One adjustment_post's arguments."""

    payment: Payment
    lines: Sequence[CaptureLine]
    refund_fen: int
    key: str
    memo: str = ""


def adjustments_post_many(*, adjustments: Sequence[Adjustment]) -> None:
    """adjustment_post for many payments at once (a group buy's close): the same entries, from
    one query of what is booked and one batch of inserts (ledger.entries_post_many). Keys
    already posted are skipped. Call it in the transaction that records the new prices."""
    keys = [a.key for a in adjustments]
    done = set(
        JournalEntry.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    todo = [a for a in adjustments if a.key not in done]
    if not todo:
        return
    booked = _balances_many([a.payment.pk for a in todo])
    specs = []
    for a in todo:
        target = capture_targets(payment=a.payment, lines=a.lines)
        now = booked.get(a.payment.pk, {})
        delta = {ref: target.get(ref, 0) - now.get(ref, 0) for ref in set(target) | set(now)}
        spec = _delta_spec(
            payment=a.payment, key=a.key, delta=delta, refund_fen=a.refund_fen, memo=a.memo
        )
        if spec is not None:
            specs.append(spec)
    entries_post_many(entries=specs)


def _balances_many(payment_ids: Sequence[int]) -> dict[int, dict[AccountRef, int]]:
    """payment_balances of each of PAYMENT_IDS, in one query."""
    sums = list(
        Posting.objects.filter(entry__payment_id__in=payment_ids)
        .values("entry__payment_id", "account")
        .annotate(total=Sum("amount"))
    )
    accounts = LedgerAccount.objects.in_bulk({row["account"] for row in sums})
    out: defaultdict[int, defaultdict[AccountRef, int]] = defaultdict(lambda: defaultdict(int))
    for row in sums:
        out[row["entry__payment_id"]][AccountRef.of(accounts[row["account"]])] += row["total"]
    return {pk: {r: n for r, n in refs.items() if n} for pk, refs in out.items()}
