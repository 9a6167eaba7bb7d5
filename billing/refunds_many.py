"""Many refunds at once: payment_refund's rules and outcome for each, in a few statements.

A group buy's close refunds the price difference to thousands of buyers. One payment_refund
each costs two transactions, a dozen statements and a hook call per refund; here the
reservations are one transaction, the provider is asked once per refund (providers have no
batch refund: WeChat Pay and Alipay take one request each), the answers are recorded in one
transaction and the shops are told once per batch. Everything stays keyed exactly as
payment_refund keys it (the same key → the same Refund and out_refund_no), so the two paths
can finish each other's work after a crash.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.module_loading import import_string

from core.rows import rows_update

from .models import Payment, Refund
from .payments.base import PaymentProvider, ProviderError
from .payments.registry import provider_get
from .services import PaymentError, RefundRefused, order_refunded_hook_run, out_refund_no_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundAsk:
    payment_id: int
    amount: int
    key: str
    reason: str = ""


Outcome = Refund | PaymentError


def payments_refund_many(
    *, asks: Sequence[RefundAsk], max_per_payment: int | None = None
) -> dict[str, Outcome]:
    """Refund each of ASKS through its payment's provider, once per key; per key, the Refund
    (succeeded; processing; pending with last_error when the provider could not be reached,
    to be asked again with the same key; failed) or the PaymentError that refused it (a key
    naming another refund, an amount beyond what is refundable, more than MAX_PER_PAYMENT
    refunds on one payment). One refusal does not stop the others."""
    out: dict[str, Outcome] = {}
    if len({ask.key for ask in asks}) != len(asks):
        raise ValueError("each ask needs a key of its own")
    submit = _reserve(asks, max_per_payment, out)
    answered: dict[int, tuple[bool, str]] = {}
    errors: dict[int, str] = {}
    providers: dict[str, PaymentProvider] = {}
    for refund, payment in submit:
        backend = providers.get(payment.provider) or provider_get(payment.provider)
        providers[payment.provider] = backend
        try:
            result = backend.refund(
                payment,
                amount=refund.amount,
                out_refund_no=refund.out_refund_no,
                reason=refund.reason,
            )
        except ProviderError as exc:
            errors[refund.pk] = str(exc)[:2000]
            continue
        answered[refund.pk] = (result.succeeded, result.provider_refund_id)
    if errors:
        stale = list(Refund.objects.filter(pk__in=errors))
        for refund in stale:
            refund.last_error = errors[refund.pk]
            refund.updated_at = timezone.now()
        rows_update(stale, ["last_error", "updated_at"])
    recorded = _record(answered)
    for key, outcome in out.items():
        if isinstance(outcome, Refund):
            fresh = recorded.get(outcome.pk)
            if fresh is not None:
                out[key] = fresh
            elif outcome.pk in errors:
                outcome.last_error = errors[outcome.pk]
    return out


def _reserve(
    asks: Sequence[RefundAsk], max_per_payment: int | None, out: dict[str, Outcome]
) -> list[tuple[Refund, Payment]]:
    """One transaction: each new refund's row and its payment's refunded amount, as
    billing.services._refund_reserve does one by one. Returns the refunds still to ask the
    provider for (new, or left pending by an earlier attempt)."""
    submit: list[tuple[Refund, Payment]] = []
    with transaction.atomic():
        payments = {
            p.pk: p
            for p in Payment.objects.select_for_update()
            .filter(pk__in={ask.payment_id for ask in asks})
            .order_by("pk")  # one lock order for every batch: two closes never deadlock
        }
        existing = {
            r.idempotency_key: r
            for r in Refund.objects.filter(idempotency_key__in=[ask.key for ask in asks])
        }
        counts: Counter[int] = Counter(
            dict(
                Refund.objects.filter(payment_id__in=payments)
                .values_list("payment")
                .annotate(n=Count("id"))
                .values_list("payment", "n")
            )
        )
        new: list[Refund] = []
        touched: dict[int, Payment] = {}
        for ask in asks:
            payment = payments.get(ask.payment_id)
            found = existing.get(ask.key)
            if found is not None:
                if found.payment_id != ask.payment_id or found.amount != ask.amount:
                    out[ask.key] = RefundRefused(
                        f"idempotency key {ask.key!r} names another refund"
                    )
                    continue
                out[ask.key] = found
                if found.status == Refund.Status.PENDING and payment is not None:
                    submit.append((found, payment))
                continue
            problem = _refusal(ask, payment, counts, max_per_payment)
            if problem or payment is None:
                out[ask.key] = RefundRefused(problem or f"payment {ask.payment_id} does not exist")
                continue
            refund = Refund(
                payment=payment,
                amount=ask.amount,
                idempotency_key=ask.key,
                out_refund_no=out_refund_no_for(ask.key),
                reason=ask.reason[:80],
            )
            new.append(refund)
            counts[payment.pk] += 1
            payment.refunded_amount += ask.amount
            payment.status = (
                Payment.Status.REFUNDED
                if payment.refunded_amount == payment.amount
                else Payment.Status.PARTIALLY_REFUNDED
            )
            payment.updated_at = timezone.now()
            touched[payment.pk] = payment
            out[ask.key] = refund
            submit.append((refund, payment))
        Refund.objects.bulk_create(new)
        rows_update(list(touched.values()), ["refunded_amount", "status", "updated_at"])
    return submit


def _refusal(
    ask: RefundAsk, payment: Payment | None, counts: Counter[int], max_per_payment: int | None
) -> str:
    amount = ask.amount
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return f"refund amount must be a positive number of fen, not {amount!r}"
    if payment is None:
        return f"payment {ask.payment_id} does not exist"
    if max_per_payment is not None and counts[payment.pk] >= max_per_payment:
        return (
            f"payment {payment.out_trade_no} has {max_per_payment} refunds already: "
            "the provider takes no more"
        )
    if amount > payment.refundable_amount:
        return (
            f"refund of {amount} fen exceeds the {payment.refundable_amount} fen still "
            f"refundable on {payment.out_trade_no} ({payment.status})"
        )
    return ""


def _record(answered: dict[int, tuple[bool, str]]) -> dict[int, Refund]:
    """One transaction: the provider's answers, under the refunds' row locks (a refund
    notification may have moved one already: never backwards). The shops hear of the
    refunds that succeeded here, once each, after the commit."""
    if not answered:
        return {}
    with transaction.atomic():
        rows = list(Refund.objects.select_for_update().filter(pk__in=answered).order_by("pk"))
        succeeded: list[int] = []
        now = timezone.now()
        for refund in rows:
            ok, provider_id = answered[refund.pk]
            if refund.status == Refund.Status.PENDING:
                refund.status = Refund.Status.SUCCEEDED if ok else Refund.Status.PROCESSING
                if ok:
                    succeeded.append(refund.pk)
            refund.provider_refund_id = refund.provider_refund_id or provider_id
            refund.last_error = ""
            refund.updated_at = now
        rows_update(rows, ["status", "provider_refund_id", "last_error", "updated_at"])
        if succeeded:
            transaction.on_commit(
                partial(orders_refunded_hook_run, refund_ids=succeeded), robust=True
            )
    return {refund.pk: refund for refund in rows}


def orders_refunded_hook_run(*, refund_ids: Sequence[int]) -> None:
    """order_refunded_hook_run for many refunds: settings.VSTORE_ORDERS_REFUNDED_HOOK, when
    set, is called once with every (tenant_id, order_number, fully) of them; otherwise the
    one-refund hook is run for each. FULLY means what it means there."""
    path = settings.VSTORE_ORDERS_REFUNDED_HOOK
    if not path:
        for pk in refund_ids:
            order_refunded_hook_run(refund_id=pk)
        return
    refunds = list(
        Refund.objects.filter(pk__in=refund_ids)
        .exclude(payment__status=Payment.Status.EXPIRED)  # a late payment's: nothing to tell
        .select_related("payment")
        .order_by("pk")
    )
    open_payments = set(
        Refund.objects.filter(
            payment_id__in={r.payment_id for r in refunds},
            status__in=(Refund.Status.PENDING, Refund.Status.PROCESSING),
        ).values_list("payment_id", flat=True)
    )
    items = [
        (
            r.payment.tenant_id,
            r.payment.order_number,
            r.payment.status == Payment.Status.REFUNDED and r.payment_id not in open_payments,
        )
        for r in refunds
    ]
    if items:
        import_string(path)(items=items)
