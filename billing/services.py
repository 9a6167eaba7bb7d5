"""Payments: create, capture from a provider's notification, refund, expire.

The state machine of a Payment (anything not listed changes nothing):

    created ──paid notification, paid in time──────────────▶ captured
    created ──payment_expire, or paid after expires_at─────▶ expired
    expired ──paid notification─────────────────────────────▶ expired, the money refunded in full
    captured ──payment_refund (part)────────────────────────▶ partially_refunded ──…──▶ refunded

Notifications may come twice, late, or in any order: every one is recorded by (provider, id)
before it is acted on, a repeat is a no-op that gets the same answer, and a "closed" or "refund"
event never captures, un-captures or expires anything. Only a verified "paid" event for the right
merchant, currency and amount captures a payment, and only once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Payment, PaymentNotification, Refund, SandboxTrade
from .payments.base import (
    ChannelError,
    Event,
    MalformedNotification,
    Notification,
    Payer,
    PaymentProvider,
    ProviderError,
    TradeState,
)
from .payments.registry import provider_get

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)
Outcome = PaymentNotification.Outcome


class PaymentError(Exception):
    """A payment operation that is not allowed (bad amount, too large a refund, …)."""


class RefundRefused(PaymentError):
    pass


# --- create and expire ------------------------------------------------------------------------


def out_trade_no_new() -> str:
    """26 characters: within WeChat Pay's 32 and Alipay's 64, letters and digits only."""
    return "VS" + timezone.now().strftime("%Y%m%d") + secrets.token_hex(8).upper()


def payment_create(
    *,
    tenant: Tenant,
    order_number: str,
    amount: int,
    currency: str = "CNY",
    provider: str,
    expires_at: datetime,
    description: str = "",
    return_url: str = "",
    channel: str = "",
    payer: Payer | None = None,
) -> Payment:
    """Open a payment for a shop's order and register it with the provider.

    The buyer is then sent to `payment.checkout_url` (`checkout_kind` "redirect": open it;
    "qrcode": show it as a QR code; "jsapi": hand fresh `jsapi_pay_params` to WeChat's bridge).
    `channel` is one of the provider's (billing.payments.channels says which a browser gets; ""
    is the provider's default) and `payer` what that channel needs to know of the buyer.

    Raises PaymentError for a bad amount, currency or deadline, UnknownProvider for a provider
    that is not configured, ChannelError for a channel the provider lacks or a payer it cannot
    use (before anything is written: no Payment is left behind), ProviderError when the provider
    cannot be reached (the Payment then stays without a checkout URL; create a new one to retry).
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise PaymentError(f"amount must be a positive number of fen, not {amount!r}")
    if currency != "CNY":
        raise PaymentError(f"only CNY is supported, not {currency!r}")
    if timezone.is_naive(expires_at) or expires_at <= timezone.now():
        raise PaymentError("expires_at must be an aware time in the future")
    backend = provider_get(provider)
    backend.channel_check(channel, payer)
    payment = Payment.objects.create(
        tenant=tenant,
        order_number=order_number,
        amount=amount,
        currency=currency,
        provider=backend.name,
        channel=channel,
        out_trade_no=out_trade_no_new(),
        expires_at=expires_at,
    )
    try:
        checkout = backend.create_payment(
            payment,
            description=description or f"{tenant.name} {order_number}",
            return_url=return_url,
            channel=channel,
            payer=payer,
        )
    except ChannelError:
        # channel_check should have said so; never leave a payment no provider knows of.
        payment.delete()
        raise
    payment.checkout_url = checkout.url
    payment.checkout_kind = checkout.kind
    payment.save(update_fields=["checkout_url", "checkout_kind", "updated_at"])
    return payment


def payment_expire(*, payment: Payment) -> Payment:
    """Expire an unpaid payment; returns it fresh from the database.

    Call this before releasing an unpaid order: release only if the result's status is
    "expired". A payment captured meanwhile stays captured. A notification that arrives after
    this refunds the buyer instead of capturing.
    """
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == Payment.Status.CREATED:
            locked.status = Payment.Status.EXPIRED
            locked.save(update_fields=["status", "updated_at"])
    return locked


# --- refunds ----------------------------------------------------------------------------------


def out_refund_no_for(idempotency_key: str) -> str:
    # Derived, not random: a retry of the same refund reaches the provider with the same number,
    # and the provider refunds it once.
    return "RF" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:30].upper()


def _refund_reserve(
    *, payment: Payment, amount: int, idempotency_key: str, reason: str, late: bool
) -> Refund:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.payment_id != locked.pk or existing.amount != amount:
                raise RefundRefused(f"idempotency key {idempotency_key!r} names another refund")
            return existing
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise RefundRefused(f"refund amount must be a positive number of fen, not {amount!r}")
        # A late payment sits on an expired Payment: all of it goes back.
        refundable = locked.amount - locked.refunded_amount if late else locked.refundable_amount
        if amount > refundable:
            raise RefundRefused(
                f"refund of {amount} fen exceeds the {refundable} fen still refundable on "
                f"{locked.out_trade_no} ({locked.status})"
            )
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            idempotency_key=idempotency_key,
            out_refund_no=out_refund_no_for(idempotency_key),
            reason=reason,
        )
        locked.refunded_amount += amount
        if not late:
            locked.status = (
                Payment.Status.REFUNDED
                if locked.refunded_amount == locked.amount
                else Payment.Status.PARTIALLY_REFUNDED
            )
        locked.save(update_fields=["refunded_amount", "status", "updated_at"])
        payment.refunded_amount, payment.status = locked.refunded_amount, locked.status
        return refund


def _refund_submit(refund: Refund, *, payment: Payment) -> Refund:
    backend = provider_get(payment.provider)
    try:
        result = backend.refund(
            payment, amount=refund.amount, out_refund_no=refund.out_refund_no, reason=refund.reason
        )
    except ProviderError as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:2000])
        raise
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        # A refund notification may have got here first; never move a refund backwards.
        if locked.status == Refund.Status.PENDING:
            locked.status = (
                Refund.Status.SUCCEEDED if result.succeeded else Refund.Status.PROCESSING
            )
            if locked.status == Refund.Status.SUCCEEDED:
                _order_refunded_after_commit(locked)
        locked.provider_refund_id = locked.provider_refund_id or result.provider_refund_id
        locked.last_error = ""
        locked.save(update_fields=["status", "provider_refund_id", "last_error", "updated_at"])
    return locked


def payment_refund(
    *, payment: Payment, amount: int, idempotency_key: str, reason: str = ""
) -> Refund:
    """Refund `amount` fen of a captured payment through its provider, once per key.

    The same key returns the same Refund (and does not call the provider again once it has
    answered); a refund left "pending" by an unreachable provider is retried by calling again
    with the same key. A refund larger than what is left refundable raises RefundRefused.
    """
    refund = _refund_reserve(
        payment=payment, amount=amount, idempotency_key=idempotency_key, reason=reason, late=False
    )
    if refund.status != Refund.Status.PENDING:
        return refund
    return _refund_submit(refund, payment=payment)


# --- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handled:
    outcome: str
    payment: Payment | None


def _merchant_matches(provider: PaymentProvider, n: Notification) -> bool:
    if n.merchant_id != provider.merchant_id:
        return False
    return not (provider.app_id and n.app_id and n.app_id != provider.app_id)


def _payment_locked(provider: PaymentProvider, n: Notification) -> Payment | None:
    payment = Payment.objects.select_for_update().filter(out_trade_no=n.out_trade_no).first()
    if payment is None:
        logger.warning(
            "%s notification %s for unknown payment %s", provider.name, n.id, n.out_trade_no
        )
    return payment


def _on_paid(provider: PaymentProvider, n: Notification) -> Handled:
    payment = _payment_locked(provider, n)
    if payment is None:
        return Handled(Outcome.UNKNOWN_PAYMENT, None)
    if payment.provider != provider.name or not _merchant_matches(provider, n):
        logger.error(
            "REFUSED %s notification %s: merchant %s/app %s is not ours (payment %s)",
            provider.name, n.id, n.merchant_id, n.app_id, payment.out_trade_no,
        )  # fmt: skip
        return Handled(Outcome.REFUSED_MERCHANT, payment)
    if n.amount != payment.amount or n.currency != payment.currency:
        logger.error(
            "REFUSED %s notification %s: paid %s %s, payment %s is %s %s",
            provider.name, n.id, n.amount, n.currency,
            payment.out_trade_no, payment.amount, payment.currency,
        )  # fmt: skip
        return Handled(Outcome.REFUSED_AMOUNT, payment)
    if payment.status in (
        Payment.Status.CAPTURED,
        Payment.Status.PARTIALLY_REFUNDED,
        Payment.Status.REFUNDED,
    ):
        if n.provider_trade_id and n.provider_trade_id != payment.provider_trade_id:
            logger.error(
                "%s payment %s paid again as %s (captured as %s): refund it by hand",
                provider.name, payment.out_trade_no, n.provider_trade_id,
                payment.provider_trade_id,
            )  # fmt: skip
        return Handled(Outcome.ALREADY_CAPTURED, payment)
    paid_at = n.occurred_at or timezone.now()
    if payment.status == Payment.Status.EXPIRED or paid_at > payment.expires_at:
        return _refund_late_payment(payment, n)
    payment.status = Payment.Status.CAPTURED
    payment.provider_trade_id = n.provider_trade_id
    payment.captured_at = paid_at
    payment.save(update_fields=["status", "provider_trade_id", "captured_at", "updated_at"])
    logger.info(
        "captured %s payment %s (%s fen)", provider.name, payment.out_trade_no, payment.amount
    )
    transaction.on_commit(partial(payment_captured_hook_run, payment_id=payment.pk), robust=True)
    return Handled(Outcome.CAPTURED, payment)


def _refund_late_payment(payment: Payment, n: Notification) -> Handled:
    """Money for an order that is gone: give it back rather than bring the order back."""
    payment.status = Payment.Status.EXPIRED
    payment.provider_trade_id = payment.provider_trade_id or n.provider_trade_id
    payment.save(update_fields=["status", "provider_trade_id", "updated_at"])
    # One key per trade, not per notification: a second "paid" notification (a retry with a new
    # id, TRADE_FINISHED after TRADE_SUCCESS) must not refund the buyer twice.
    refund = _refund_reserve(
        payment=payment,
        amount=payment.amount,
        idempotency_key=f"late-payment:{payment.provider}:{payment.out_trade_no}",
        reason="paid after the order expired",
        late=True,
    )
    if refund.status == Refund.Status.PENDING:
        try:
            _refund_submit(refund, payment=payment)
        except ProviderError as exc:
            # The payment and the refund owed are recorded with this notification, which is
            # acknowledged: answering 5xx would only make the provider redeliver the same news
            # while its refund API is down. The refund stays "pending" and a task retries it
            # (same out_refund_no, so the provider refunds once); the sweep catches stragglers.
            from .tasks import refund_submit_task

            logger.error(
                "late payment %s: refund %s not made yet (%s); retrying in the background",
                payment.out_trade_no, refund.out_refund_no, exc,
            )  # fmt: skip
            transaction.on_commit(partial(refund_submit_task.delay, refund_id=refund.pk))
    logger.warning("payment %s paid after it expired: refunded", payment.out_trade_no)
    return Handled(Outcome.REFUNDED_EXPIRED, payment)


def refund_resubmit(*, refund_id: int) -> Refund:
    """Ask the provider again for a refund left "pending" (it could not be reached); idempotent:
    a refund that has been answered is returned as it is. Raises ProviderError to be retried."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    return _refund_submit(refund, payment=refund.payment)


def refunds_pending_due(*, now: datetime | None = None) -> list[int]:
    """Ids of refunds still "pending" a few minutes after they were asked for: the provider was
    down and the retrying task gave up or was lost. The reconcile sweep hands them out again."""
    stale = (now or timezone.now()) - timedelta(minutes=5)
    return list(
        Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


def _refund_for(payment: Payment, n: Notification) -> Refund | None:
    refunds = Refund.objects.select_for_update().filter(payment=payment)
    if n.out_refund_no:
        return refunds.filter(out_refund_no=n.out_refund_no).first()
    if n.provider_refund_id:
        return refunds.filter(provider_refund_id=n.provider_refund_id).first()
    return None


def _on_refund(provider: PaymentProvider, n: Notification) -> Handled:
    payment = _payment_locked(provider, n)
    if payment is None:
        return Handled(Outcome.UNKNOWN_PAYMENT, None)
    if n.merchant_id != provider.merchant_id or payment.provider != provider.name:
        logger.error("REFUSED %s refund notification %s: not our merchant", provider.name, n.id)
        return Handled(Outcome.REFUSED_MERCHANT, payment)
    refund = _refund_for(payment, n)
    if refund is None:
        # A refund we did not ask for (made in the provider's console), or one whose record
        # is not there yet: change nothing; staff reconcile from the log and the stored body.
        logger.warning("%s refund notification %s matches no refund of ours", provider.name, n.id)
        return Handled(Outcome.IGNORED, payment)
    if n.event == Event.REFUND_SUCCEEDED:
        if refund.status == Refund.Status.FAILED:
            logger.error("refund %s reported succeeded after failing", refund.out_refund_no)
            return Handled(Outcome.IGNORED, payment)
        if refund.status != Refund.Status.SUCCEEDED:
            _order_refunded_after_commit(refund)
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_refund_id = refund.provider_refund_id or n.provider_refund_id
        refund.save(update_fields=["status", "provider_refund_id", "updated_at"])
        return Handled(Outcome.REFUND_CONFIRMED, payment)
    if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
        return Handled(Outcome.IGNORED, payment)
    refund.status = Refund.Status.FAILED
    refund.save(update_fields=["status", "updated_at"])
    # The money did not go back: it is refundable again.
    payment.refunded_amount -= refund.amount
    if payment.status in (Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED):
        payment.status = (
            Payment.Status.PARTIALLY_REFUNDED
            if payment.refunded_amount
            else Payment.Status.CAPTURED
        )
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    logger.error("refund %s failed at %s: refundable again", refund.out_refund_no, provider.name)
    return Handled(Outcome.REFUND_FAILED, payment)


def _on_nothing(provider: PaymentProvider, n: Notification) -> Handled:
    # "closed" (a trade closed unpaid, or closed by a full refund) and "pending" never move a
    # payment: expiry is ours to decide (payment_expire), and a later "paid" still captures.
    logger.info("%s notification %s (%s): no change", provider.name, n.id, n.raw_event or n.event)
    payment = Payment.objects.filter(out_trade_no=n.out_trade_no).first()
    return Handled(Outcome.IGNORED, payment)


_HANDLERS = {
    Event.PAID: _on_paid,
    Event.REFUND_SUCCEEDED: _on_refund,
    Event.REFUND_FAILED: _on_refund,
    Event.CLOSED: _on_nothing,
    Event.PENDING: _on_nothing,
    Event.OTHER: _on_nothing,
}


def payment_notification_handle(
    *,
    provider: PaymentProvider,
    notification: Notification,
    raw_body: str = "",
    headers: dict[str, str] | None = None,
) -> PaymentNotification:
    """Act on a verified notification once; return its record (also for a repeat).

    The record is written first, in the same transaction as the change it causes, under a
    unique (provider, notification id): a repeat, even a concurrent one, finds the first record
    and changes nothing. `record.accepted` says which acknowledgement the provider gets.
    """
    n = notification
    try:
        with transaction.atomic():
            record = PaymentNotification.objects.create(
                provider=provider.name,
                notification_id=n.id,
                event=n.event.value,
                out_trade_no=n.out_trade_no,
                raw_body=raw_body,
                headers=headers or {},
            )
            handled = _HANDLERS[n.event](provider, n)
            record.outcome = handled.outcome
            record.payment = handled.payment
            record.save(update_fields=["outcome", "payment"])
            return record
    except IntegrityError:
        first = PaymentNotification.objects.filter(
            provider=provider.name, notification_id=n.id
        ).first()
        if first is None:
            raise
        logger.info("%s notification %s again: no-op", provider.name, n.id)
        return first


def payment_reconcile(*, payment: Payment) -> PaymentNotification | None:
    """Ask the provider about a payment still "created"; capture it if the buyer paid.

    For a notification that was lost or is slow (the buyer is back from the pay page, or a
    periodic sweep). What the provider answered over our authenticated API call goes through the
    same handler as a notification, under the id "query:<provider trade id>", so it captures at
    most once and a later notification for the same trade changes nothing more.
    Returns the record, or None when the provider says the buyer has not paid.
    """
    if payment.status != Payment.Status.CREATED:
        return None
    backend = provider_get(payment.provider)
    state = backend.query(payment)
    if not state.paid or not state.provider_trade_id:
        return None
    try:
        notification = _query_notification(backend, payment, state)
    except MalformedNotification as exc:
        # An answer we cannot act on is no answer: the task asks again later.
        raise ProviderError(f"{backend.name} answered the query with {exc}") from exc
    return payment_notification_handle(provider=backend, notification=notification)


def _query_notification(
    backend: PaymentProvider, payment: Payment, state: TradeState
) -> Notification:
    return Notification(
        provider=backend.name,
        id=f"query:{state.provider_trade_id}",
        event=Event.PAID,
        raw_event=state.status,
        out_trade_no=payment.out_trade_no,
        amount=state.amount,
        currency=payment.currency,
        merchant_id=backend.merchant_id,
        app_id=backend.app_id,
        provider_trade_id=state.provider_trade_id,
        occurred_at=state.paid_at,
    )


def payments_reconcile_due(*, now: datetime | None = None) -> list[int]:
    """Ids of open payments worth asking the provider about: created more than two minutes ago
    (a notification should have come) and not more than a day past their deadline (the
    providers stop retrying notifications after about a day)."""
    now = now or timezone.now()
    return list(
        Payment.objects.filter(
            status=Payment.Status.CREATED,
            created_at__lte=now - timedelta(minutes=2),
            expires_at__gte=now - timedelta(days=1),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


# --- after capture ----------------------------------------------------------------------------


def payment_captured_hook_run(*, payment_id: int) -> None:
    """Run the post-capture extension point, after the capturing transaction committed.

    This is where the storefront learns that an order is paid. Set VSTORE_PAYMENT_CAPTURED_HOOK
    to the dotted path of a callable `hook(payment: Payment) -> None`; it is called once per
    captured payment (never for a repeat notification), in the public schema, after commit.
    `payment.tenant` and `payment.order_number` name the shop's order; the hook should switch
    into the shop (`tenant_context(payment.tenant)`) or, better, enqueue a tenant-aware task and
    return quickly, and must itself be idempotent (a crash after commit and before the hook
    finishes is recovered by re-running it for captured payments whose orders are not paid).
    With no hook configured the capture is only logged. A failing hook is logged; the capture
    stands and the provider is still acknowledged.
    """
    path = settings.VSTORE_PAYMENT_CAPTURED_HOOK
    payment = Payment.objects.select_related("tenant").get(pk=payment_id)
    if not path:
        logger.info(
            "payment %s captured for %s order %s; no VSTORE_PAYMENT_CAPTURED_HOOK configured",
            payment.out_trade_no, payment.tenant.schema_name, payment.order_number,
        )  # fmt: skip
        return
    import_string(path)(payment)


def _order_refunded_after_commit(refund: Refund) -> None:
    # Once per refund: only the move into "succeeded" calls this, under the refund's row lock.
    transaction.on_commit(partial(order_refunded_hook_run, refund_id=refund.pk), robust=True)


def order_refunded_hook_run(*, refund_id: int) -> None:
    """Tell the shop a refund of one of its orders succeeded, after the commit that said so.

    Calls settings.VSTORE_ORDER_REFUNDED_HOOK, `order_refunded(*, tenant_id, order_number,
    fully)`, in the public schema (the hook switches into the shop). FULLY is true once every
    fen paid for the order has gone back (the payment is refunded and none of its refunds is
    still pending or processing): the shop then gives the order's coupons back. It is called
    once per successful refund, so a full refund made of several parts may say fully=True
    more than once (two last parts succeeding together): the hook must be idempotent.
    A late payment's refund (the order had expired; its coupons went back then) calls nothing.
    """
    path = settings.VSTORE_ORDER_REFUNDED_HOOK
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = refund.payment
    if payment.status == Payment.Status.EXPIRED:
        return
    fully = (
        payment.status == Payment.Status.REFUNDED
        and not payment.refunds.filter(
            status__in=(Refund.Status.PENDING, Refund.Status.PROCESSING)
        ).exists()
    )
    if not path:
        logger.info(
            "refund %s of %s order %s succeeded (fully: %s); no VSTORE_ORDER_REFUNDED_HOOK",
            refund.out_refund_no, payment.tenant_id, payment.order_number, fully,
        )  # fmt: skip
        return
    import_string(path)(tenant_id=payment.tenant_id, order_number=payment.order_number, fully=fully)


# --- the sandbox provider's own side (what its pay page does) ---------------------------------


def sandbox_trade_pay(*, trade: SandboxTrade) -> SandboxTrade:
    """The buyer pressed "Pay": book it and have the sandbox notify us (a Celery task)."""
    from .payments.registry import sandbox_enabled
    from .tasks import sandbox_notification_send

    if not sandbox_enabled():
        raise PaymentError("the sandbox payment provider is off")
    with transaction.atomic():
        locked = SandboxTrade.objects.select_for_update().get(pk=trade.pk)
        if locked.status != SandboxTrade.Status.WAITING:
            return locked
        if locked.expires_at <= timezone.now():
            raise PaymentError("this payment has expired")
        locked.status = SandboxTrade.Status.PAID
        locked.paid_at = timezone.now()
        locked.save(update_fields=["status", "paid_at"])
        notification_id = f"SBN{secrets.token_hex(16)}"
        transaction.on_commit(
            partial(
                sandbox_notification_send.delay,
                trade_id=locked.pk,
                event=Event.PAID.value,
                notification_id=notification_id,
            )
        )
    return locked
