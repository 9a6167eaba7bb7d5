"""Placing, paying and expiring a shop's orders. Callers run these inside the shop's schema.

The stock of a catalog SKU is one number shared by every shop: an order takes it with one
conditional UPDATE per SKU (catalog.services.sku_stock_reserve) inside the order's transaction,
so a failure anywhere leaves neither an order nor a reservation behind.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.fulfilment.services import (
    FulfilmentLine,
    ShipTo,
    return_days_for,
    supplier_orders_create,
)
from billing.ledger import CaptureLine, capture_post, capture_split
from billing.models import Payment
from billing.services import payment_create, payment_expire
from catalog.services import sku_stock_release, sku_stock_reserve

from .models import Fan, ListingItem, Order, OrderLine, ShareLink
from .selectors import payment_open_for
from .shipping import delivery_fees

logger = logging.getLogger(__name__)

MAX_QUANTITY = 99
MAX_LINES = 50
# Unambiguous characters only: order numbers are read out on the phone and typed in.
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class OutOfStock(ValidationError):
    """Another buyer took the last units between the cart and the order."""


@dataclass(frozen=True)
class Buyer:
    mobile: str
    email: str
    recipient: str
    recipient_phone: str
    province: str
    city: str
    district: str
    street: str
    note: str = ""


@dataclass(frozen=True)
class Want:
    item_id: int
    quantity: int


def _tenant():
    if connection.schema_name == "public":
        raise RuntimeError("orders live in a shop's schema: run inside tenant_context")
    return connection.tenant


def order_number_new() -> str:
    stamp = timezone.localtime().strftime("%y%m%d%H%M")
    return stamp + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))


def _quantity_check(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise ValidationError(
            _("The quantity must be a whole number from 1 to %(max)d.") % {"max": MAX_QUANTITY},
            code="quantity",
        )
    return value


def _wants_merge(wants: Sequence[Want]) -> dict[int, int]:
    if not wants:
        raise ValidationError(_("Your cart is empty."), code="empty")
    merged: dict[int, int] = defaultdict(int)
    for want in wants:
        merged[int(want.item_id)] += _quantity_check(want.quantity)
    if len(merged) > MAX_LINES:
        raise ValidationError(_("Too many different goods in one order."), code="too_many")
    for qty in merged.values():
        _quantity_check(qty)
    return dict(merged)


def _fan_for(buyer: Buyer) -> Fan:
    """The shop's fan with this mobile (or e-mail), made on first order."""
    lookup = {"mobile": buyer.mobile} if buyer.mobile else {"email": buyer.email.lower()}
    fan = Fan.objects.filter(**lookup).first()
    if fan is not None:
        return fan
    try:
        with transaction.atomic():
            return Fan.objects.create(name=buyer.recipient, **lookup)
    except IntegrityError:  # a concurrent first order by the same buyer
        return Fan.objects.get(**lookup)


def order_quote(*, wants: Sequence[Want], province: str | None = None) -> dict:
    """Prices for the checkout page, from the server's listing (never from the request)."""
    qty = _wants_merge(wants)
    items = _items_load(qty)
    goods = sum(items[i].retail_price_fen * q for i, q in qty.items())
    shipping = (
        sum(delivery_fees(items=items, quantities=qty, province=province).values())
        if province
        else None
    )
    return {"items": items, "quantities": qty, "goods_fen": goods, "shipping_fen": shipping}


def _items_load(qty: dict[int, int]) -> dict[int, ListingItem]:
    items = {
        i.pk: i
        for i in ListingItem.objects.select_related("listing", "sku__product__shipping_template")
        .prefetch_related("sku__product__shipping_template__rules")
        .filter(pk__in=qty)
    }
    for item_id in qty:
        item = items.get(item_id)
        if item is None:
            raise ValidationError(_("Something in your cart is no longer sold."), code="gone")
        if not item.is_available:
            raise ValidationError(
                _("%(title)s is not available now.") % {"title": item.listing.title},
                code="unavailable",
            )
    return items


@transaction.atomic
def order_place(
    *, wants: Sequence[Want], buyer: Buyer, share_code: str = "", fan: Fan | None = None
) -> Order:
    """Create a pending_payment order for WANTS, reserving the shared stock; all or nothing.

    Prices, shipping and the supplier's terms come from the database at this moment. If any
    SKU lacks the stock, OutOfStock is raised and nothing is reserved or written.
    """
    _tenant()
    qty = _wants_merge(wants)
    items = _items_load(qty)
    fees = delivery_fees(items=items, quantities=qty, province=buyer.province)
    # Rows that must not be double-used are taken in one order (by SKU id): no deadlocks.
    for item_id in sorted(qty, key=lambda i: items[i].sku_id):
        if not sku_stock_reserve(sku_id=items[item_id].sku_id, quantity=qty[item_id]):
            raise OutOfStock(
                _("Sorry, %(title)s (%(option)s) sold out while you were ordering.")
                % {"title": items[item_id].listing.title, "option": items[item_id].sku.label},
                code="out_of_stock",
            )
    fan = fan or _fan_for(buyer)
    goods = sum(items[i].retail_price_fen * q for i, q in qty.items())
    shipping = sum(fees.values())
    share = ShareLink.objects.filter(code=share_code).first() if share_code else None
    minutes = settings.VSTORE_ORDER_PAY_MINUTES
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=order_number_new(),
                    fan=fan,
                    contact_mobile=buyer.mobile,
                    contact_email=buyer.email.lower(),
                    recipient=buyer.recipient,
                    recipient_phone=buyer.recipient_phone,
                    province=buyer.province,
                    city=buyer.city,
                    district=buyer.district,
                    street=buyer.street,
                    note=buyer.note,
                    goods_fen=goods,
                    shipping_fen=shipping,
                    total_fen=goods + shipping,
                    share_link=share if share and share.sharer_id != fan.pk else None,
                    pay_deadline=timezone.now() + timedelta(minutes=minutes),
                )
            break
        except IntegrityError:  # the random part of the number collided
            continue
    else:
        raise RuntimeError("could not allot an order number")
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            listing_id=items[i].listing_id,
            item=items[i],
            sku=items[i].sku,
            supplier_id=items[i].sku.product.supplier_id,
            title=items[i].listing.title,
            option_label=items[i].sku.label,
            quantity=q,
            retail_price_fen=items[i].retail_price_fen,
            supply_price_fen=items[i].sku.supply_price_fen,
            shipping_fen=fees.get(i, 0),
            return_days=return_days_for(product=items[i].sku.product),
        )
        for i, q in sorted(qty.items())
    )
    return order


def order_payment_start(*, order: Order, provider: str, return_url: str) -> Payment:
    """Open (or reuse) the order's payment with PROVIDER; the buyer goes to its checkout_url."""
    if order.status != Order.Status.PENDING_PAYMENT:
        raise ValidationError(_("This order cannot be paid now."), code="not_payable")
    if order.pay_deadline <= timezone.now():
        raise ValidationError(_("The time to pay for this order has passed."), code="late")
    tenant = _tenant()
    open_payment = payment_open_for(order=order, provider=provider)
    if open_payment is not None:
        return open_payment
    return payment_create(
        tenant=tenant,
        order_number=order.number,
        amount=order.total_fen,
        currency=order.currency,
        provider=provider,
        expires_at=order.pay_deadline,
        description=_order_description(order),
        return_url=return_url,
    )


def _order_description(order: Order) -> str:
    """What the provider's pay page and the buyer's payment record show: the order number
    first (the one number she knows the order by), then the goods."""
    first = order.lines.first()
    more = order.lines.count() - 1
    goods = first.title if first else ""
    if more > 0:
        goods += _(" and %(n)d more") % {"n": more}
    text = _("Order %(number)s") % {"number": order.number}
    return (f"{text} · {goods}" if goods else text)[:120]


def capture_lines(lines: Sequence[OrderLine]) -> list[CaptureLine]:
    """Order lines as the ledger takes them, in the same order (capture_split keeps it)."""
    return [
        CaptureLine(
            supplier_id=line.supplier_id,
            quantity=line.quantity,
            supply_price_fen=line.supply_price_fen,
            retail_price_fen=line.retail_price_fen,
            shipping_fen=line.shipping_fen,
        )
        for line in lines
    ]


def order_mark_paid(*, order_number: str, payment_id: int) -> Order:
    """The payment was captured: mark the order paid and post the capture; idempotent.

    Hands the paid lines to their suppliers (one SupplierOrder each) in the same transaction.
    A capture for an order that expired meanwhile cannot happen: billing refuses to capture an
    expired payment and refunds it, and the order expires only after its payments expired.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(number=order_number)
        payment = Payment.objects.get(pk=payment_id, tenant=_tenant(), order_number=order_number)
        if order.status == Order.Status.PENDING_PAYMENT:
            order.status = Order.Status.PAID
            order.paid_at = payment.captured_at or timezone.now()
            order.save(update_fields=["status", "paid_at"])
        elif order.status != Order.Status.PAID:
            logger.error(
                "payment %s captured for order %s in state %s",
                payment.out_trade_no, order.number, order.status,
            )  # fmt: skip
            return order
        lines = list(order.lines.order_by("id"))
        capture = capture_lines(lines)
        capture_post(payment=payment, lines=capture)
        supplier_orders_create(
            tenant=connection.tenant,
            order_number=order.number,
            payment=payment,
            ship_to=ShipTo(
                recipient=order.recipient,
                phone=order.recipient_phone,
                province=order.province,
                city=order.city,
                district=order.district,
                street=order.street,
            ),
            lines=[
                FulfilmentLine(
                    line_ref=line.pk,
                    sku_id=line.sku_id,
                    supplier_id=line.supplier_id,
                    title=line.title,
                    option_label=line.option_label,
                    quantity=line.quantity,
                    retail_price_fen=line.retail_price_fen,
                    supply_price_fen=line.supply_price_fen,
                    shipping_fen=line.shipping_fen,
                    fee_fen=split.fee_fen,
                    commission_fen=split.commission_fen,
                    return_days=line.return_days,
                )
                for line, split in zip(lines, capture_split(lines=capture), strict=True)
            ],
        )
    return order


def order_expire(*, order: Order) -> Order:
    """Close an unpaid order whose deadline passed and give its stock back; idempotent.

    Every open payment is expired first: if one was captured in time the order is paid, not
    expired (billing tells us which, under its own row lock).
    """
    tenant = _tenant()
    payments = Payment.objects.filter(tenant=tenant, order_number=order.number)
    captured = None
    for payment in payments:
        fresh = payment_expire(payment=payment)
        if fresh.status in (Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED):
            captured = fresh
    if captured is not None:
        return order_mark_paid(order_number=order.number, payment_id=captured.pk)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING_PAYMENT:
            return order
        for line in order.lines.order_by("sku_id"):
            sku_stock_release(sku_id=line.sku_id, quantity=line.quantity)
        order.status = Order.Status.EXPIRED
        order.closed_at = timezone.now()
        order.save(update_fields=["status", "closed_at"])
    return order


def orders_expire_due(*, now=None) -> int:
    """Expire this shop's unpaid orders past their deadline; returns how many closed."""
    now = now or timezone.now()
    due = Order.objects.filter(status=Order.Status.PENDING_PAYMENT, pay_deadline__lt=now)
    closed = 0
    for order in due.order_by("pay_deadline")[:500]:
        if order_expire(order=order).status == Order.Status.EXPIRED:
            closed += 1
    return closed
