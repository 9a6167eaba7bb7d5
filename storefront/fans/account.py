"""What a signed-in fan's account page (我的) reads, and the fan a verified sign-in code makes.

Her orders are grouped the way every Chinese shop's 我的 page groups them (待付款 / 待发货 /
待收货 / 退款·售后), from each order's real state (storefront.orders.progress), never from the
stored status alone: a paid order whose parcel is on its way is 待收货.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.shop import current_shop
from storefront.models import Fan, Order
from storefront.orders.progress import LineState, OrderProgress, OrderState, order_progress

# The session key of a signed-in fan (her Fan's id in this shop; sessions are per shop host):
# orders defines it (checkout reads it; orders cannot import fans, which builds on orders).
from storefront.orders.selectors import SESSION_FAN

# How many of her latest orders the page reads (each shows its state, read from billing's rows
# in four queries for all of them together).
ORDERS_SHOWN = 50

TAB_STATES: dict[str, set[OrderState]] = {
    "unpaid": {OrderState.PENDING_PAYMENT, OrderState.CONFIRMING},
    "to_ship": {OrderState.PAID},
    "to_receive": {OrderState.SHIPPED_PARTLY, OrderState.SHIPPED},
    "aftersale": {OrderState.REFUNDED_PARTLY, OrderState.REFUNDED},
}
TAB_LABELS = {
    "unpaid": _("To pay"),
    "to_ship": _("To ship"),
    "to_receive": _("To receive"),
    "aftersale": _("Refunds & after-sales"),
    "all": _("All orders"),
}
_RETURNING = {LineState.RETURN_REQUESTED, LineState.RETURN_RECEIVED}


def signed_in_fan(request: HttpRequest) -> Fan | None:
    fan_id = request.session.get(SESSION_FAN)
    return Fan.objects.filter(pk=fan_id).first() if isinstance(fan_id, int) else None


@dataclass(frozen=True)
class FanOrder:
    order: Order
    progress: OrderProgress

    @property
    def tabs(self) -> set[str]:
        found = {tab for tab, states in TAB_STATES.items() if self.progress.state in states}
        # A return under way is after-sales even while the rest of the order is delivered.
        if any(lp.state in _RETURNING for lp in self.progress.lines):
            found.add("aftersale")
        return found | {"all"}


def fan_orders(*, fan: Fan, limit: int = ORDERS_SHOWN) -> list[FanOrder]:
    """FAN's latest orders with their states, newest first, in a fixed number of queries
    (orders and lines, then payments, parcels and returns for all of them at once)."""
    from billing.fulfilment.models import ReturnCase, ReturnCaseLine, SupplierOrder
    from billing.models import Payment

    orders = list(
        Order.objects.filter(fan=fan)
        .prefetch_related("lines")
        .order_by("-created_at", "-id")[:limit]
    )
    if not orders:
        return []
    shop = current_shop()
    pending = [o.number for o in orders if o.status == Order.Status.PENDING_PAYMENT]
    paid = [o.number for o in orders if o.status == Order.Status.PAID]
    payments: dict[str, list] = defaultdict(list)
    shipments: dict[str, list] = defaultdict(list)
    returns: dict[str, list] = defaultdict(list)
    if pending:
        for p in Payment.objects.filter(tenant_id=shop.pk, order_number__in=pending):
            payments[p.order_number].append(p)
    if paid:
        parcels = (
            SupplierOrder.objects.filter(tenant=shop, order_number__in=paid)
            .select_related("supplier")
            .prefetch_related("lines")
            .order_by("supplier_id")
        )
        for so in parcels:
            shipments[so.order_number].append(so)
        cases = (
            ReturnCase.objects.filter(tenant=shop, order_number__in=paid)
            .prefetch_related(Prefetch("lines", ReturnCaseLine.objects.select_related("line")))
            .order_by("-requested_at", "-id")
        )
        for case in cases:
            returns[case.order_number].append(case)
    return [
        FanOrder(
            order,
            order_progress(
                order=order,
                payments=payments[order.number],
                shipments=shipments[order.number],
                return_cases=returns[order.number],
            ),
        )
        for order in orders
    ]


def tab_counts(rows: list[FanOrder]) -> dict[str, int]:
    counts = dict.fromkeys(TAB_LABELS, 0)
    for row in rows:
        for tab in row.tabs:
            counts[tab] += 1
    return counts


def fan_ensure(*, contact: str) -> Fan:
    """The shop's fan with CONTACT (a normalised mobile, or a lower-cased e-mail), made when a
    verified sign-in code names someone who has not ordered here yet: she proved the contact
    is hers, and claiming a coupon needs a fan to hold it."""
    lookup = {"email": contact.lower()} if "@" in contact else {"mobile": contact}
    fan = Fan.objects.filter(**lookup).first()
    if fan is not None:
        return fan
    try:
        with transaction.atomic():
            return Fan.objects.create(**lookup)
    except IntegrityError:  # the same person signing in from two tabs at once
        return Fan.objects.get(**lookup)


def contact_masked(fan: Fan) -> str:
    """How the page greets her without printing her whole number or address on screen
    (a phone is read over shoulders): 138****8000, m***@example.com."""
    if fan.mobile:
        return f"{fan.mobile[:3]}****{fan.mobile[-4:]}"
    if not fan.email:  # erased at her request (fans' data rights): nothing to show
        return ""
    local, _at, domain = fan.email.partition("@")
    return f"{local[:1]}***@{domain}"
