"""The buyer back from the pay page: ask the provider at once, or cancel the unpaid order.

Run inside the shop's schema.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.models import Payment
from billing.payments.base import ProviderError
from billing.services import payment_expire, payment_reconcile
from core.shop import current_shop_id
from storefront.models import Cart, Order

from .cart import cart_add
from .services import order_coupons_release, order_lines_release, order_mark_paid

logger = logging.getLogger(__name__)

# While the buyer waits her order page refreshes every few seconds: the provider is asked at
# most once per payment in this many seconds, however many pages (or bots) ask.
CHECK_EVERY_SECONDS = 2


def order_payment_check(*, order: Order) -> bool:
    """Ask the provider whether the order's open payments were paid; capture those that were.

    The notification may be slow or lost; the buyer is looking at the page now. Returns True
    when the provider was asked about every open payment just now and said "not paid", so the
    page may say so; False when that is not known (paid, asked a moment ago, or no answer: a
    provider that does not answer changes nothing, the notification or the sweep will tell).
    """
    if order.status != Order.Status.PENDING_PAYMENT:
        return False
    open_payments = Payment.objects.filter(
        tenant_id=current_shop_id(), order_number=order.number, status=Payment.Status.CREATED
    )
    known_unpaid = True
    for payment in open_payments:
        if not cache.add(f"storefront:pay-check:{payment.pk}", 1, CHECK_EVERY_SECONDS):
            known_unpaid = False
            continue
        try:
            if payment_reconcile(payment=payment) is not None:
                known_unpaid = False
        except ProviderError as exc:
            logger.warning("asking %s about %s failed: %s", payment.provider, payment.pk, exc)
            known_unpaid = False
    return known_unpaid


def order_cancel(*, order: Order) -> tuple[Order, bool]:
    """The buyer cancels her unpaid order: its payments are closed and its stock given back.

    As order_expire does, every open payment is expired first, under billing's row lock: one
    captured meanwhile makes the order paid instead (and is booked), so a cancel never loses a
    payment. A notification that arrives after the cancel refunds the buyer. Idempotent:
    returns the order as it now is and whether this call cancelled it.
    """
    captured = None
    payments = Payment.objects.filter(tenant_id=current_shop_id(), order_number=order.number)
    for payment in payments:
        fresh = payment_expire(payment=payment)
        if fresh.status in (Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED):
            captured = fresh
    if captured is not None:
        return order_mark_paid(order_number=order.number, payment_id=captured.pk), False
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING_PAYMENT:
            return order, False
        order_lines_release(order=order)
        order.status = Order.Status.CANCELLED
        order.closed_at = timezone.now()
        order.save(update_fields=["status", "closed_at"])
        order_coupons_release(order=order)  # her coupon back in her wallet
    return order, True


def cart_refill(*, cart: Cart, order: Order) -> int:
    """Put a cancelled order's goods back in CART (what is still sold); returns how many lines."""
    added = 0
    for line in order.lines.order_by("id"):
        try:
            cart_add(cart=cart, item_id=line.item_id, quantity=line.quantity)
        except ValidationError:  # no longer sold, or the cart is full: leave it out
            continue
        added += 1
    return added
