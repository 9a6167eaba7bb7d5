"""An order's state as the buyer and the creator see it: from payments, shipments and returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from core.shop import current_shop, current_shop_id
from storefront.models import Order, OrderLine


class OrderState(StrEnum):
    """Where an order stands for its buyer, derived (never stored) from the order, its
    payments and billing's supplier orders and returns."""

    PENDING_PAYMENT = "pending_payment"
    CONFIRMING = "confirming"  # the provider says paid; the shop has not booked it yet
    PAID = "paid"  # waiting to be shipped
    SHIPPED_PARTLY = "shipped_partly"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REFUNDED_PARTLY = "refunded_partly"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class LineState(StrEnum):
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURN_REQUESTED = "return_requested"
    RETURN_RECEIVED = "return_received"
    REFUNDED_PARTLY = "refunded_partly"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


ORDER_STATE_LABELS = {
    OrderState.PENDING_PAYMENT: _("Awaiting payment"),
    OrderState.CONFIRMING: _("Payment being confirmed"),
    OrderState.PAID: _("Paid, awaiting shipment"),
    OrderState.SHIPPED_PARTLY: _("Partly shipped"),
    OrderState.SHIPPED: _("Shipped"),
    OrderState.DELIVERED: _("Delivered"),
    OrderState.REFUNDED_PARTLY: _("Partly refunded"),
    OrderState.REFUNDED: _("Refunded"),
    OrderState.EXPIRED: _("Closed unpaid"),
    OrderState.CANCELLED: _("Cancelled"),
}

ORDER_STATE_HEADLINES = {
    OrderState.PENDING_PAYMENT: _("Waiting for your payment"),
    OrderState.CONFIRMING: _("Payment received, being confirmed"),
    OrderState.PAID: _("Thank you! Your order is paid."),
    OrderState.SHIPPED_PARTLY: _("Part of your order is on its way"),
    OrderState.SHIPPED: _("Your order is on its way"),
    OrderState.DELIVERED: _("Your order has been delivered"),
    OrderState.REFUNDED_PARTLY: _("Part of your order has been refunded"),
    OrderState.REFUNDED: _("Your order has been refunded"),
    OrderState.EXPIRED: _("This order was closed unpaid"),
    OrderState.CANCELLED: _("This order was cancelled"),
}

LINE_STATE_LABELS = {
    LineState.AWAITING_SHIPMENT: _("Awaiting shipment"),
    LineState.SHIPPED: _("Shipped"),
    LineState.DELIVERED: _("Delivered"),
    LineState.RETURN_REQUESTED: _("Return requested"),
    LineState.RETURN_RECEIVED: _("Return received, refund on its way"),
    LineState.REFUNDED_PARTLY: _("Partly refunded"),
    LineState.REFUNDED: _("Refunded"),
    LineState.CANCELLED: _("Cancelled"),
}


@dataclass(frozen=True)
class LineProgress:
    line: OrderLine
    state: LineState | None  # None before the order is paid
    carrier: str = ""
    tracking_number: str = ""
    refunded_quantity: int = 0

    @property
    def label(self) -> str:
        return str(LINE_STATE_LABELS[self.state]) if self.state else ""


@dataclass(frozen=True)
class OrderProgress:
    state: OrderState
    lines: list[LineProgress]
    shipments: list  # billing's SupplierOrders (one parcel per supplier), shipped ones first

    @property
    def label(self) -> str:
        return str(ORDER_STATE_LABELS[self.state])

    @property
    def headline(self) -> str:
        return str(ORDER_STATE_HEADLINES[self.state])

    @property
    def payable(self) -> bool:
        """Only an unpaid order with no payment in flight offers a pay button."""
        return self.state == OrderState.PENDING_PAYMENT


def order_progress(
    *,
    order: Order,
    payments: list | None = None,
    shipments: list | None = None,
    return_cases: list | None = None,
) -> OrderProgress:
    """The order's state and each line's, for the buyer (reads billing's rows for ORDER; pass
    what the caller has read already to save the queries)."""
    from billing.fulfilment.models import ReturnCase, SupplierOrder
    from billing.fulfilment.selectors import return_cases_for_order
    from billing.models import Payment

    lines = list(order.lines.all())
    if order.status == Order.Status.EXPIRED:
        return OrderProgress(OrderState.EXPIRED, [LineProgress(ln, None) for ln in lines], [])
    if order.status == Order.Status.CANCELLED:
        return OrderProgress(OrderState.CANCELLED, [LineProgress(ln, None) for ln in lines], [])
    if order.status == Order.Status.PENDING_PAYMENT:
        if payments is None:
            payments = list(
                Payment.objects.filter(tenant_id=current_shop_id(), order_number=order.number)
            )
        captured = any(p.status != Payment.Status.CREATED and p.captured_at for p in payments)
        state = OrderState.CONFIRMING if captured else OrderState.PENDING_PAYMENT
        return OrderProgress(state, [LineProgress(ln, None) for ln in lines], [])

    tenant = current_shop()
    if shipments is None:
        shipments = order_shipments(order)
    if return_cases is None:
        return_cases = list(return_cases_for_order(tenant=tenant, order_number=order.number))
    by_ref = {sl.line_ref: (so, sl) for so in shipments for sl in so.lines.all()}
    open_case = {}  # supplier order line id → the open return's status
    for case in return_cases:
        if case.status in ReturnCase.OPEN:
            for case_line in case.lines.all():
                open_case[case_line.line_id] = case.status
    progress = []
    for line in lines:
        so, sl = by_ref.get(line.pk, (None, None))
        if so is None or sl is None:
            progress.append(LineProgress(line, LineState.AWAITING_SHIPMENT))
            continue
        line_state: LineState
        if sl.refunded_quantity and sl.refunded_quantity >= sl.quantity:
            line_state = LineState.REFUNDED
        elif sl.pk in open_case:
            line_state = (
                LineState.RETURN_RECEIVED
                if open_case[sl.pk] == ReturnCase.Status.RECEIVED
                else LineState.RETURN_REQUESTED
            )
        elif sl.refunded_quantity:
            line_state = LineState.REFUNDED_PARTLY
        else:
            line_state = {
                SupplierOrder.Status.TO_SHIP: LineState.AWAITING_SHIPMENT,
                SupplierOrder.Status.SHIPPED: LineState.SHIPPED,
                SupplierOrder.Status.DELIVERED: LineState.DELIVERED,
                SupplierOrder.Status.CANCELLED: LineState.CANCELLED,
            }[so.status]
        progress.append(
            LineProgress(
                line,
                line_state,
                carrier=so.carrier,
                tracking_number=so.tracking_number,
                refunded_quantity=sl.refunded_quantity,
            )
        )
    return OrderProgress(_paid_state(shipments), progress, list(shipments))


def _paid_state(shipments: list) -> OrderState:
    """A paid order's state from its parcels: refunds first, then how far delivery got."""
    from billing.fulfilment.models import SupplierOrder

    so_lines = [sl for so in shipments for sl in so.lines.all()]
    if so_lines and all(sl.refunded_quantity >= sl.quantity for sl in so_lines):
        return OrderState.REFUNDED
    if any(sl.refunded_quantity for sl in so_lines):
        return OrderState.REFUNDED_PARTLY
    live = [so for so in shipments if so.status != SupplierOrder.Status.CANCELLED]
    on_the_way = (SupplierOrder.Status.SHIPPED, SupplierOrder.Status.DELIVERED)
    if not live or all(so.status == SupplierOrder.Status.TO_SHIP for so in live):
        return OrderState.PAID
    if all(so.status == SupplierOrder.Status.DELIVERED for so in live):
        return OrderState.DELIVERED
    if all(so.status in on_the_way for so in live):
        return OrderState.SHIPPED
    return OrderState.SHIPPED_PARTLY


def order_shipments(order: Order) -> list:
    """The suppliers' shipments of ORDER (public rows naming this shop's order)."""
    from billing.fulfilment.selectors import supplier_orders_for_order

    return list(supplier_orders_for_order(tenant=current_shop(), order_number=order.number))
