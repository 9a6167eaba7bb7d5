"""Supplier fulfilment and 7-day returns: the writes.

After capture the shop hands its order over with `supplier_orders_create` (one SupplierOrder per
supplier). Suppliers ship and mark delivery (`supplier_order_ship`, `supplier_order_deliver`);
the buyer is e-mailed after each step. Within a line's return window (7 days from delivery, 0
for goods the law excepts) the buyer may send goods back without a reason (`return_open`); the
supplier confirms receipt (`return_receive`), which refunds the buyer through the payment's
provider, puts the stock back and reverses the money of the returned units in the ledger. Once
every return window of a supplier order has closed, settlement (billing/fulfilment/settlement.py)
makes its money available: the creator's commission for payout, the supplier's payable for payout.

Rows that must not be double-used are locked in one order: the supplier order first (every
write here takes it), then a return case, then the order's lines by primary key.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from billing.ledger import AccountRef, Line, entry_post
from billing.models import Payment
from billing.supplierapi.events import (
    fulfilment_event,
    return_requested_event,
    suppliers_subscribed,
)
from catalog.models import ReturnPolicy
from core.money import yuan_plain
from core.text import text_problem

from .models import (
    RETURN_DAYS,
    BuyerNotice,
    FulfilmentEvent,
    ReturnCase,
    ReturnCaseLine,
    SupplierOrder,
    SupplierOrderLine,
)

if TYPE_CHECKING:
    from catalog.models import Product, Supplier
    from tenants.models import Tenant

logger = logging.getLogger(__name__)
S = SupplierOrder.Status
R = ReturnCase.Status


# --- handing an order over ------------------------------------------------------------------


@dataclass(frozen=True)
class ShipTo:
    """Where the parcel goes: a Chinese address and who takes it."""

    recipient: str
    phone: str
    province: str
    city: str
    district: str
    street: str


@dataclass(frozen=True)
class FulfilmentLine:
    """One shop order line, with its share of the capture entry (billing.ledger.capture_split).

    fee_fen and commission_fen are for the whole quantity; retail × quantity must equal
    supply × quantity + fee_fen + commission_fen + creator_discount_fen (shipping_fen is owed to
    the supplier on top; the buyer paid retail × quantity − both discounts for the goods).
    return_days: `return_days_for(product=…)` (7, or 0 for goods excepted by law).
    """

    line_ref: int
    sku_id: int
    supplier_id: int
    title: str
    option_label: str
    quantity: int
    retail_price_fen: int
    supply_price_fen: int
    shipping_fen: int
    fee_fen: int
    commission_fen: int
    return_days: int = RETURN_DAYS
    # Coupon discounts on the whole line (fen), as on billing.ledger.CaptureLine: the buyer paid
    # retail × quantity − both; commission_fen is already net of creator_discount_fen.
    creator_discount_fen: int = 0
    platform_discount_fen: int = 0


def return_days_for(*, product: Product) -> int:
    """7 days for goods with the no-reason return, 0 for the legal exceptions (消法 art. 25)."""
    return RETURN_DAYS if product.return_policy == ReturnPolicy.SEVEN_DAY else 0


def _is_fen(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _line_check(line: FulfilmentLine) -> None:
    numbers = (
        line.quantity,
        line.retail_price_fen,
        line.supply_price_fen,
        line.shipping_fen,
        line.fee_fen,
        line.commission_fen,
        line.return_days,
        line.creator_discount_fen,
        line.platform_discount_fen,
    )
    if not all(_is_fen(n) for n in numbers) or line.quantity == 0:
        raise ValidationError(f"line {line.line_ref}: quantities and amounts are fen, not {line}")
    retail = line.retail_price_fen * line.quantity
    if retail != (
        line.supply_price_fen * line.quantity
        + line.fee_fen
        + line.commission_fen
        + line.creator_discount_fen
    ):
        raise ValidationError(
            f"line {line.line_ref}: retail {retail} fen is not supply + fee + commission + "
            "the creator's coupon (take the figures from billing.ledger.capture_split)"
        )
    if line.creator_discount_fen + line.platform_discount_fen > retail:
        raise ValidationError(f"line {line.line_ref}: its coupons exceed its price")


@dataclass(frozen=True)
class FulfilmentOrder:
    """One paid shop order to hand over: its number, captured payment, address and lines."""

    order_number: str
    payment: Payment
    ship_to: ShipTo
    lines: Sequence[FulfilmentLine]


def supplier_orders_create(
    *,
    tenant: Tenant,
    order_number: str,
    payment: Payment,
    ship_to: ShipTo,
    lines: Sequence[FulfilmentLine],
) -> list[SupplierOrder]:
    """One SupplierOrder per supplier of a paid order, ordered by supplier; once per order.

    A second call (a retried task) returns the rows the first one made and changes nothing,
    also when the two run at the same moment: the unique (tenant, order, supplier) decides.
    """
    order = FulfilmentOrder(order_number, payment, ship_to, lines)
    return supplier_orders_create_many(tenant=tenant, orders=[order])[order_number]


def _by_supplier(tenant: Tenant, order: FulfilmentOrder) -> dict[int, list[FulfilmentLine]]:
    """ORDER's lines by supplier, once it is checked; ValidationError says what is wrong."""
    payment, number = order.payment, order.order_number
    if not order.lines:
        raise ValidationError("an order without lines has nothing to ship")
    if payment.tenant_id != tenant.pk or payment.order_number != number:
        raise ValidationError(f"payment {payment.out_trade_no} is not for order {number}")
    if payment.status not in (
        Payment.Status.CAPTURED,
        Payment.Status.PARTIALLY_REFUNDED,
        Payment.Status.REFUNDED,
    ):
        raise ValidationError(f"payment {payment.out_trade_no} is {payment.status}: not paid")
    by_supplier: defaultdict[int, list[FulfilmentLine]] = defaultdict(list)
    refs: set[int] = set()
    for line in order.lines:
        _line_check(line)
        if line.line_ref in refs:
            raise ValidationError(f"line {line.line_ref} appears twice")
        refs.add(line.line_ref)
        by_supplier[line.supplier_id].append(line)
    return dict(by_supplier)


def supplier_orders_create_many(
    *, tenant: Tenant, orders: Sequence[FulfilmentOrder]
) -> dict[str, list[SupplierOrder]]:
    """supplier_orders_create for many orders of TENANT in one transaction and a few
    statements (a group buy's close hands thousands over at once); per order number, its
    supplier orders. Every order is checked first: one bad order and nothing is written."""
    if len({o.order_number for o in orders}) != len(orders):
        raise ValidationError("an order appears twice")
    split = {o.order_number: _by_supplier(tenant, o) for o in orders}
    out: dict[str, list[SupplierOrder]] = {o.order_number: [] for o in orders}
    if not orders:
        return out
    with transaction.atomic():
        SupplierOrder.objects.bulk_create(
            [
                SupplierOrder(
                    tenant=tenant,
                    order_number=o.order_number,
                    supplier_id=supplier_id,
                    payment=o.payment,
                    currency=o.payment.currency,
                    recipient=o.ship_to.recipient,
                    phone=o.ship_to.phone,
                    province=o.ship_to.province,
                    city=o.ship_to.city,
                    district=o.ship_to.district,
                    street=o.ship_to.street,
                )
                for o in orders
                for supplier_id in sorted(split[o.order_number])
            ],
            ignore_conflicts=True,
        )
        made = SupplierOrder.objects.filter(tenant=tenant, order_number__in=out).order_by(
            "order_number", "supplier_id"
        )
        for so in made:
            if so.supplier_id in split[so.order_number]:
                out[so.order_number].append(so)
        SupplierOrderLine.objects.bulk_create(
            [
                SupplierOrderLine(
                    supplier_order=so,
                    line_ref=line.line_ref,
                    sku_id=line.sku_id,
                    title=line.title[:200],
                    option_label=line.option_label[:200],
                    quantity=line.quantity,
                    retail_price_fen=line.retail_price_fen,
                    supply_price_fen=line.supply_price_fen,
                    shipping_fen=line.shipping_fen,
                    fee_fen=line.fee_fen,
                    commission_fen=line.commission_fen,
                    creator_discount_fen=line.creator_discount_fen,
                    platform_discount_fen=line.platform_discount_fen,
                    return_days=line.return_days,
                )
                for number, sos in out.items()
                for so in sos
                for line in split[number][so.supplier_id]
            ],
            ignore_conflicts=True,
        )
        every = [so for sos in out.values() for so in sos]
        listening = suppliers_subscribed(supplier_ids={so.supplier_id for so in every})
        for so in every:  # once per order: the delivery's event id is the order's
            if so.supplier_id in listening:
                fulfilment_event(so=so, event="supplier_order.created")
    return out


# --- shipping and delivery ------------------------------------------------------------------

# The carriers most parcels in China go with; anything else can be typed.
CARRIERS = [
    "顺丰速运",
    "中通快递",
    "圆通速递",
    "韵达快递",
    "申通快递",
    "京东物流",
    "EMS",
    "极兔速递",
]
TRACKING_RE = re.compile(r"^[A-Za-z0-9-]{6,40}$")


def _event(
    so: SupplierOrder,
    action: str,
    from_status: str,
    to_status: str,
    *,
    actor: Any = None,
    case: ReturnCase | None = None,
    **detail: Any,
) -> None:
    FulfilmentEvent.objects.create(
        supplier_order=so,
        return_case=case,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor if getattr(actor, "pk", None) else None,
        detail=detail,
    )


def _so_locked(supplier_order: SupplierOrder, supplier: Supplier | None) -> SupplierOrder:
    so = SupplierOrder.objects.select_for_update().get(pk=supplier_order.pk)
    if supplier is not None and so.supplier_id != supplier.pk:
        raise ValidationError(_("This order is not yours."), code="not_yours")
    return so


def supplier_order_ship(
    *,
    supplier_order: SupplierOrder,
    supplier: Supplier,
    carrier: str,
    tracking_number: str,
    actor: Any = None,
) -> SupplierOrder:
    """The supplier hands the parcel to CARRIER under TRACKING_NUMBER; the buyer is told.

    Sending the same tracking number again (a double-clicked form) changes nothing.
    """
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip().replace(" ", "")
    errors: dict[str, str] = {}
    if not carrier or len(carrier) > 40:
        errors["carrier"] = _("Name the carrier (at most 40 characters).")
    if not TRACKING_RE.match(tracking_number):
        errors["tracking_number"] = _(
            "A tracking number is 6 to 40 letters, digits or hyphens, as printed on the waybill."
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        so = _so_locked(supplier_order, supplier)
        if so.status == S.SHIPPED and (so.carrier, so.tracking_number) == (
            carrier,
            tracking_number,
        ):
            return so
        if so.status != S.TO_SHIP:
            raise ValidationError(
                _("Only an order waiting to be shipped can be shipped; this one is %(status)s.")
                % {"status": so.get_status_display()},
                code="illegal_transition",
            )
        so.status, so.carrier, so.tracking_number = S.SHIPPED, carrier, tracking_number
        so.shipped_at = timezone.now()
        so.save(update_fields=["status", "carrier", "tracking_number", "shipped_at", "updated_at"])
        _event(
            so, "ship", S.TO_SHIP, S.SHIPPED, actor=actor, carrier=carrier, tracking=tracking_number
        )
        _notice_after_commit(so, "shipped")
        fulfilment_event(so=so, event="order.shipped")  # webhooks (billing.supplierapi)
    supplier_order.__dict__.update(so.__dict__)
    return so


def supplier_order_deliver(
    *,
    supplier_order: SupplierOrder,
    supplier: Supplier | None = None,
    actor: Any = None,
    delivered_at: datetime | None = None,
) -> SupplierOrder:
    """The parcel reached the buyer: the return window starts now (or at DELIVERED_AT).

    SUPPLIER, when given (the portal), must be the order's own; staff pass None.
    """
    now = timezone.now()
    delivered_at = delivered_at or now
    with transaction.atomic():
        so = _so_locked(supplier_order, supplier)
        if so.status == S.DELIVERED:
            return so
        if so.status != S.SHIPPED:
            raise ValidationError(
                _("Only a shipped order can be delivered; this one is %(status)s.")
                % {"status": so.get_status_display()},
                code="illegal_transition",
            )
        if delivered_at > now or (so.shipped_at and delivered_at < so.shipped_at):
            raise ValidationError(
                _("The delivery time must be between shipping and now."), code="delivered_at"
            )
        longest = max(so.lines.values_list("return_days", flat=True), default=0)
        so.status, so.delivered_at = S.DELIVERED, delivered_at
        so.returns_close_at = delivered_at + timedelta(days=longest)
        so.save(update_fields=["status", "delivered_at", "returns_close_at", "updated_at"])
        _event(so, "deliver", S.SHIPPED, S.DELIVERED, actor=actor)
        _notice_after_commit(so, "delivered")
        fulfilment_event(so=so, event="order.delivered")  # webhooks (billing.supplierapi)
    supplier_order.__dict__.update(so.__dict__)
    return so


# --- telling the buyer ------------------------------------------------------------------------


def _notice_after_commit(so: SupplierOrder, step: str) -> None:
    transaction.on_commit(partial(_notice_enqueue, so.pk, step))


def _notice_enqueue(supplier_order_id: int, step: str) -> None:
    from django_tenants.utils import tenant_context

    from .tasks import fulfilment_notice_task

    so = SupplierOrder.objects.select_related("tenant").get(pk=supplier_order_id)
    try:
        # Sent from the shop's context: the worker runs it in the shop's schema, where the
        # order (and the buyer's address) lives.
        with tenant_context(so.tenant):
            fulfilment_notice_task.delay(supplier_order_id=supplier_order_id, step=step)
    except Exception:  # the step is committed; a broker outage must not undo it or 500
        logger.exception("could not queue the %s notice for supplier order %s", step, so.pk)


def _notice_text(so: SupplierOrder, step: str) -> tuple[str, str] | None:
    items = "\n".join(f"  {line}" for line in so.lines.all())
    shop = so.tenant.name
    if step == "shipped":
        subject = _("%(shop)s: your order %(number)s is on its way") % {
            "shop": shop,
            "number": so.order_number,
        }
        body = _(
            "Shipped with %(carrier)s, tracking number %(tracking)s:\n%(items)s\n\nOrder %(number)s"
        )
        return subject, body % {
            "carrier": so.carrier,
            "tracking": so.tracking_number,
            "items": items,
            "number": so.order_number,
        }
    if step == "delivered":
        subject = _("%(shop)s: your order %(number)s was delivered") % {
            "shop": shop,
            "number": so.order_number,
        }
        closes = timezone.localtime(so.returns_close_at) if so.returns_close_at else None
        body = _("Delivered:\n%(items)s\n\n") % {"items": items}
        if closes and so.delivered_at and closes > so.delivered_at:
            body += _(
                "You may return goods without giving a reason until %(closes)s "
                "(except goods the law excepts, as marked on the product)."
            ) % {"closes": closes.strftime("%Y-%m-%d %H:%M")}
        return subject, body
    if step.startswith("return:"):
        case = ReturnCase.objects.filter(pk=int(step.split(":")[1])).first()
        if case is None:
            return None
        subject = _("%(shop)s: refund for order %(number)s") % {
            "shop": shop,
            "number": so.order_number,
        }
        body = _(
            "The supplier received your return. %(amount)s yuan go back to you the way you paid."
        ) % {"amount": yuan_plain(case.refund_fen)}
        return subject, body
    return None


def fulfilment_notice_send(*, supplier_order_id: int, step: str) -> bool:
    """E-mail the buyer one step of her order ("shipped", "delivered", "return:<case id>").

    Each step is told once. False when there is no one to tell (no e-mail on the order: SMS is
    not wired yet) or it was told already.
    """
    from django_tenants.utils import tenant_context

    so = SupplierOrder.objects.select_related("tenant").filter(pk=supplier_order_id).first()
    if so is None or BuyerNotice.objects.filter(supplier_order=so, step=step).exists():
        return False
    # The buyer's contact lives in the shop's schema; the worker is already there (the task was
    # sent from the shop's context), this makes it right from anywhere.
    with tenant_context(so.tenant):
        # storefront is above billing: its reader is named in settings, as payment hooks are.
        contact = import_string(settings.VSTORE_ORDER_CONTACT_FUNCTION)(so.order_number)
    email = contact[0] if contact else ""
    text = _notice_text(so, step)
    if not email or text is None:
        logger.info("supplier order %s %s: no e-mail to tell the buyer", so.pk, step)
        return False
    send_mail(text[0], text[1], None, [email])
    BuyerNotice.objects.get_or_create(supplier_order=so, step=step, defaults={"sent_to": email})
    return True


# --- returns ----------------------------------------------------------------------------------


def _window_close(line: SupplierOrderLine, so: SupplierOrder) -> datetime | None:
    if so.delivered_at is None:
        return None
    return so.delivered_at + timedelta(days=line.return_days)


def return_open(
    *,
    tenant: Tenant,
    order_number: str,
    items: Sequence[tuple[int, int]],
    reason: str = "",
    now: datetime | None = None,
    override_window: bool = False,
    actor: Any = None,
) -> ReturnCase:
    """The buyer sends back ITEMS, (line_ref, quantity) pairs of one supplier's goods.

    Allowed within each line's return window (7 days from delivery; no window for goods the
    law excepts: custom-made, perishable, unsealed digital goods, periodicals), for at most the
    units not already being returned. OVERRIDE_WINDOW is for platform staff handling a
    dispute (e.g. a defect, 消法 art. 24): it lifts the window and the exception.
    Raises ValidationError with a message for the buyer.
    """
    now = now or timezone.now()
    wanted: dict[int, int] = {}
    for line_ref, quantity in items:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ValidationError(_("Return at least one unit."), code="quantity")
        if line_ref in wanted:
            raise ValidationError(_("Each item once, please."), code="duplicate")
        wanted[line_ref] = quantity
    if not wanted:
        raise ValidationError(_("Choose what to return."), code="empty")
    so_ids = set(
        SupplierOrderLine.objects.filter(
            supplier_order__tenant=tenant,
            supplier_order__order_number=order_number,
            line_ref__in=wanted,
        ).values_list("supplier_order_id", flat=True)
    )
    if not so_ids:
        raise ValidationError(_("There is no such item in this order."), code="unknown_line")
    if len(so_ids) > 1:
        raise ValidationError(
            _("These items come from different suppliers: return them one supplier at a time."),
            code="several_suppliers",
        )
    with transaction.atomic():
        so = SupplierOrder.objects.select_for_update().get(pk=so_ids.pop())
        lines = list(
            SupplierOrderLine.objects.select_for_update(of=("self",))
            .select_related("sku__product")
            .filter(supplier_order=so, line_ref__in=wanted)
            .order_by("pk")
        )
        if len(lines) != len(wanted):
            raise ValidationError(_("There is no such item in this order."), code="unknown_line")
        if so.status != S.DELIVERED:
            raise ValidationError(
                _("Goods can be returned once they are delivered; this parcel is %(status)s.")
                % {"status": so.get_status_display()},
                code="not_delivered",
            )
        for line in lines:
            if override_window:
                pass
            elif line.return_days == 0:
                policy = ReturnPolicy(line.sku.product.return_policy)
                raise ValidationError(
                    _("“%(title)s” cannot be returned without a reason (%(policy)s).")
                    % {"title": line.title, "policy": policy.label},
                    code="excepted",
                )
            elif now > _window_close(line, so):  # type: ignore[operator]
                raise ValidationError(
                    _("The return window for “%(title)s” closed on %(date)s.")
                    % {
                        "title": line.title,
                        "date": timezone.localtime(_window_close(line, so)).strftime(
                            "%Y-%m-%d %H:%M"
                        ),
                    },
                    code="window_closed",
                )
            if wanted[line.line_ref] > line.remaining_quantity:
                raise ValidationError(
                    _("Only %(n)d of “%(title)s” can still be returned.")
                    % {"n": line.remaining_quantity, "title": line.title},
                    code="too_many",
                )
        case = ReturnCase.objects.create(
            tenant=tenant, order_number=order_number, supplier_order=so, reason=reason[:300]
        )
        goods = 0
        for line in lines:
            quantity = wanted[line.line_ref]
            # What she paid for them, counting the units already being returned as returned
            # first; return_receive fixes the exact figure in the order returns arrive.
            paid = return_shares(line, done=line.returned_quantity, units=quantity).refund_fen
            line.returned_quantity += quantity
            line.save(update_fields=["returned_quantity"])
            ReturnCaseLine.objects.create(case=case, line=line, quantity=quantity, refund_fen=paid)
            goods += paid
        # The estimate; return_receive fixes the exact figure when the refund is made.
        everything_back = not SupplierOrderLine.objects.filter(
            supplier_order=so, returned_quantity__lt=F("quantity")
        ).exists()
        shipping = _shipping_of(so) if everything_back else 0
        case.refund_fen, case.shipping_refund_fen = goods + shipping, shipping
        case.save(update_fields=["refund_fen", "shipping_refund_fen"])
        _event(
            so,
            "return_open",
            "",
            R.REQUESTED,
            actor=actor,
            case=case,
            items={str(k): v for k, v in wanted.items()},
            override=override_window,
        )
        return_requested_event(case=case, so=so)  # webhooks (billing.supplierapi)
    return case


def _shipping_of(so: SupplierOrder) -> int:
    return sum(
        SupplierOrderLine.objects.filter(supplier_order=so).values_list("shipping_fen", flat=True)
    )


def returns_open(
    *,
    tenant: Tenant,
    order_number: str,
    items: Sequence[tuple[int, int]],
    reason: str = "",
) -> list[ReturnCase]:
    """`return_open` for items of several suppliers: one case per supplier, all or none."""
    by_so: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    where = dict(
        SupplierOrderLine.objects.filter(
            supplier_order__tenant=tenant,
            supplier_order__order_number=order_number,
            line_ref__in=[ref for ref, _q in items],
        ).values_list("line_ref", "supplier_order_id")
    )
    for ref, quantity in items:
        if ref not in where:
            raise ValidationError(_("There is no such item in this order."), code="unknown_line")
        by_so[where[ref]].append((ref, quantity))
    with transaction.atomic():
        return [
            return_open(tenant=tenant, order_number=order_number, items=group, reason=reason)
            for _so, group in sorted(by_so.items())
        ]


def _case_locked(case: ReturnCase, supplier: Supplier | None) -> tuple[SupplierOrder, ReturnCase]:
    so = SupplierOrder.objects.select_for_update().get(pk=case.supplier_order_id)
    if supplier is not None and so.supplier_id != supplier.pk:
        raise ValidationError(_("This return is not yours."), code="not_yours")
    locked = ReturnCase.objects.select_for_update().get(pk=case.pk)
    return so, locked


def _return_close(
    *, case: ReturnCase, supplier: Supplier | None, to_status: str, note: str, actor: Any
) -> ReturnCase:
    with transaction.atomic():
        so, locked = _case_locked(case, supplier)
        if locked.status == to_status:
            return locked
        if locked.status != R.REQUESTED:
            raise ValidationError(
                _("This return is %(status)s and can no longer change.")
                % {"status": locked.get_status_display()},
                code="illegal_transition",
            )
        for case_line in locked.lines.select_related("line").order_by("line_id"):
            line = SupplierOrderLine.objects.select_for_update().get(pk=case_line.line_id)
            line.returned_quantity -= case_line.quantity
            line.save(update_fields=["returned_quantity"])
        locked.status, locked.closed_note = to_status, note[:300]
        locked.save(update_fields=["status", "closed_note"])
        _event(
            so, f"return_{to_status}", R.REQUESTED, to_status, actor=actor, case=locked, note=note
        )
    return locked


def return_reject(
    *, case: ReturnCase, supplier: Supplier, note: str, actor: Any = None
) -> ReturnCase:
    """The supplier refuses a return (nothing arrived, or not what was sold); NOTE says why."""
    if not (note or "").strip():
        raise ValidationError({"note": _("Say why, for the buyer and for staff.")})
    return _return_close(case=case, supplier=supplier, to_status=R.REJECTED, note=note, actor=actor)


def return_cancel(*, case: ReturnCase, actor: Any = None) -> ReturnCase:
    """The buyer changed her mind before sending the goods."""
    return _return_close(case=case, supplier=None, to_status=R.CANCELLED, note="", actor=actor)


def return_shipment_record(
    *, case: ReturnCase, carrier: str, tracking_number: str, actor: Any = None
) -> ReturnCase:
    """The buyer has sent the goods of CASE back with CARRIER under TRACKING_NUMBER.

    Allowed while the return waits for the goods (requested); the buyer may correct a typo until
    the supplier receives them. The same values again (a double tap) change nothing. The caller
    checks that CASE belongs to the buyer's order.
    """
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip().replace(" ", "")
    errors: dict[str, str] = {}
    if not carrier or len(carrier) > 40:
        errors["return_carrier"] = _("Name the carrier (at most 40 characters).")
    elif text_problem(carrier):
        errors["return_carrier"] = text_problem(carrier) or ""
    if not TRACKING_RE.match(tracking_number):
        errors["return_tracking_number"] = _(
            "A tracking number is 6 to 40 letters, digits or hyphens, as printed on the waybill."
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        so, locked = _case_locked(case, None)
        if (locked.return_carrier, locked.return_tracking_number) == (carrier, tracking_number):
            return locked
        if locked.status != R.REQUESTED:
            raise ValidationError(
                _("This return is %(status)s: its parcel can no longer change.")
                % {"status": locked.get_status_display()},
                code="illegal_transition",
            )
        before = locked.return_tracking_number
        locked.return_carrier, locked.return_tracking_number = carrier, tracking_number
        locked.return_shipped_at = locked.return_shipped_at or timezone.now()
        locked.save(update_fields=["return_carrier", "return_tracking_number", "return_shipped_at"])
        _event(
            so,
            "return_sent",
            locked.status,
            locked.status,
            actor=actor,
            case=locked,
            carrier=carrier,
            tracking=tracking_number,
            replaces=before,
        )
    return locked


class RefundNotMade(Exception):
    """The provider could not be reached: the return stays "received"; try again later."""


def return_receive(*, case: ReturnCase, supplier: Supplier | None, actor: Any = None) -> ReturnCase:
    """The supplier confirms the goods came back: refund the buyer, restock, reverse the money.

    Three steps, each safe to repeat, so a second confirmation (or a retry after the provider
    was unreachable) refunds once:
    1. requested → received; the refund and the reversal's figures are fixed under the lines'
       locks (`_return_figures`), in the order returns are received.
    2. `payment_refund` with key "return:<case>": the provider is asked once per key.
    3. received → refunded: the reversal entry (`_reversal_lines`), the stock back on the SKUs,
       the provider's refund id recorded, the buyer told. All in one transaction.
    SUPPLIER must be the order's own (staff pass None).
    """
    from billing.payments.base import ProviderError
    from billing.services import payment_refund

    with transaction.atomic():
        so, locked = _case_locked(case, supplier)
        if locked.status == R.REFUNDED:
            return locked
        if locked.status not in (R.REQUESTED, R.RECEIVED):
            raise ValidationError(
                _("This return is %(status)s and can no longer change.")
                % {"status": locked.get_status_display()},
                code="illegal_transition",
            )
        if locked.status == R.REQUESTED:
            _return_figures(so, locked)
            locked.status, locked.received_at = R.RECEIVED, timezone.now()
            locked.save(
                update_fields=["status", "received_at", "refund_fen", "shipping_refund_fen"]
            )
            _event(so, "return_receive", R.REQUESTED, R.RECEIVED, actor=actor, case=locked)
    payment = Payment.objects.get(pk=so.payment_id)
    # Units a platform coupon paid for entirely cost the buyer nothing: nothing goes back to
    # her (a provider refuses a refund of 0), but the reversal below still undoes their shares.
    refund = None
    if locked.refund_fen:
        try:
            refund = payment_refund(
                payment=payment,
                amount=locked.refund_fen,
                idempotency_key=f"return:{locked.pk}",
                reason=_("7-day return"),
            )
        except ProviderError as exc:
            raise RefundNotMade(str(exc)) from exc
    with transaction.atomic():
        so, locked = _case_locked(case, None)
        if locked.status == R.REFUNDED:
            return locked
        entry_post(
            key=f"return:{locked.pk}:reverse",
            lines=_reversal_lines(so, locked, payment),
            memo=f"return {locked.pk} of {so.order_number}",
            tenant=so.tenant,
            order_number=so.order_number,
            payment=payment,
        )
        from catalog.services.stock import sku_stock_release

        for case_line in locked.lines.select_related("line").order_by("line__sku_id"):
            sku_stock_release(sku_id=case_line.line.sku_id, quantity=case_line.quantity)
        locked.status, locked.refunded_at, locked.refund = R.REFUNDED, timezone.now(), refund
        locked.provider_refund_id = refund.provider_refund_id if refund else ""
        locked.save(update_fields=["status", "refunded_at", "refund", "provider_refund_id"])
        _event(
            so,
            "return_refund",
            R.RECEIVED,
            R.REFUNDED,
            actor=actor,
            case=locked,
            refund=refund.out_refund_no if refund else "",
            amount=locked.refund_fen,
        )
        _notice_after_commit(so, f"return:{locked.pk}")
    case.__dict__.update(locked.__dict__)
    return locked


@dataclass(frozen=True)
class ReturnShares:
    """What returning some units of a line reverses (fen): see `return_shares`."""

    supply_fen: int
    fee_fen: int
    commission_fen: int
    creator_discount_fen: int
    platform_discount_fen: int
    refund_fen: int  # what the buyer paid for the units: goes back to her


def _returned_up_to(line: SupplierOrderLine, n: int) -> ReturnShares:
    """The running totals of a line's reversal once N of its Q units are back.

    Each share is a floor of its proportion of a running total that is itself never
    decreasing, nested so that every figure only grows with N and equals the line's capture
    figure at N = Q (M: margin per unit, f: fee, d: creator's coupon, p: platform's coupon):
        supply     = supply price × N
        kept       = ⌊(f + d) × N / Q⌋        fee and creator coupon together
        commission = M × N − kept             what is clawed back from the creator
        creator    = ⌊d × kept / (f + d)⌋     her coupon's share
        fee        = kept − creator
        paid in    = retail × N − creator     what the buyer and the platform's coupon paid
        platform   = ⌊p × paid in / (retail × Q − d)⌋
        refund     = paid in − platform       what the buyer paid: goes back to her
    Since f + d ≤ M × Q (her commission is never negative), each difference between two N is
    ≥ 0: no return credits anyone, and no one's remaining figure ever goes below zero.
    """
    q, margin = line.quantity, line.retail_price_fen - line.supply_price_fen
    fee, creator, platform = line.fee_fen, line.creator_discount_fen, line.platform_discount_fen
    kept = (fee + creator) * n // q
    creator_n = creator * kept // (fee + creator) if fee + creator else 0
    paid_in = line.retail_price_fen * n - creator_n
    base = line.retail_price_fen * q - creator
    platform_n = platform * paid_in // base if base else 0
    return ReturnShares(
        supply_fen=line.supply_price_fen * n,
        fee_fen=kept - creator_n,
        commission_fen=margin * n - kept,
        creator_discount_fen=creator_n,
        platform_discount_fen=platform_n,
        refund_fen=paid_in - platform_n,
    )


def return_shares(line: SupplierOrderLine, *, done: int, units: int) -> ReturnShares:
    """What returning UNITS more of LINE reverses, DONE of its units being back before.

    The difference of the running totals (`_returned_up_to`): partial returns of a line share
    its figures in proportion to the units, rounded down so far, and the return that brings
    back the last unit takes what is left, so a line returned in full reverses its capture
    figures exactly, whatever the partial returns were.
    """
    before, after = _returned_up_to(line, done), _returned_up_to(line, done + units)
    return ReturnShares(
        supply_fen=after.supply_fen - before.supply_fen,
        fee_fen=after.fee_fen - before.fee_fen,
        commission_fen=after.commission_fen - before.commission_fen,
        creator_discount_fen=after.creator_discount_fen - before.creator_discount_fen,
        platform_discount_fen=after.platform_discount_fen - before.platform_discount_fen,
        refund_fen=after.refund_fen - before.refund_fen,
    )


def _return_figures(so: SupplierOrder, case: ReturnCase) -> None:
    """Fix what CASE refunds and reverses, line by line, exact to the fen (`return_shares`).

    Units are counted in the order returns are received (a line's refunded_quantity), so
    supply + fee + commission + creator coupon = retail × k for k units, the buyer gets back
    what she paid for them (retail less both coupons' shares), the creator gives back her
    commission on them (already net of her coupon), and once all units are back the shares
    sum to exactly the line's capture figures.
    The delivery charge goes back only with the case that brings back the last unit the
    supplier shipped (the sale is then undone entirely); a partial return keeps it, and the
    return postage is the buyer's (消法 art. 25).
    """
    lines = {
        line.pk: line
        for line in SupplierOrderLine.objects.select_for_update()
        .filter(supplier_order=so)
        .order_by("pk")
    }
    goods = 0
    for case_line in case.lines.all():
        line, k = lines[case_line.line_id], case_line.quantity
        shares = return_shares(line, done=line.refunded_quantity, units=k)
        case_line.supply_fen = shares.supply_fen
        case_line.fee_fen = shares.fee_fen
        case_line.commission_fen = shares.commission_fen
        case_line.creator_discount_fen = shares.creator_discount_fen
        case_line.platform_discount_fen = shares.platform_discount_fen
        case_line.refund_fen = shares.refund_fen
        case_line.save(
            update_fields=[
                "supply_fen",
                "fee_fen",
                "commission_fen",
                "creator_discount_fen",
                "platform_discount_fen",
                "refund_fen",
            ]
        )
        line.refunded_quantity += k
        line.save(update_fields=["refunded_quantity"])
        goods += case_line.refund_fen
    everything_back = all(line.refunded_quantity == line.quantity for line in lines.values())
    case.shipping_refund_fen = sum(x.shipping_fen for x in lines.values()) if everything_back else 0
    case.refund_fen = goods + case.shipping_refund_fen


def _reversal_lines(so: SupplierOrder, case: ReturnCase, payment: Payment) -> list[Line]:
    """The balanced entry that undoes the returned units' share of the capture entry.

    payment_refund posts nothing to the ledger, so this entry also takes the refunded money out
    of the provider's clearing account (it leaves through the provider, back to the buyer):

        debit  supplier payable (or supplier available, once settled)   supply share + shipping
        debit  creator commission pending (or available, once settled)  commission share
                                                                         + creator coupon share
        credit the same creator commission account                       creator coupon share
        debit  platform revenue                                          fee share
        credit platform marketing expense                                platform coupon share
        credit payment clearing (the payment's provider)                 the refund

    The creator's two postings mirror the capture's (her commission before her coupon, and her
    coupon), so her statement shows the coupon's reversal apart; she gives back the commission
    on the units net of her coupon.

    Debits are positive. A clawback from an available balance already paid out leaves it
    negative; the next payout nets it. Zero amounts are left out (an entry line is never 0).
    """
    rows = list(case.lines.all())
    supply = sum(r.supply_fen for r in rows) + case.shipping_refund_fen
    fee = sum(r.fee_fen for r in rows)
    commission = sum(r.commission_fen for r in rows)
    marketing = sum(r.platform_discount_fen for r in rows)
    creator_coupons = sum(r.creator_discount_fen for r in rows)
    currency = so.currency
    settled = so.settled_at is not None
    supplier_ref = (
        AccountRef.supplier_available(so.supplier_id, currency)
        if settled
        else AccountRef.supplier_payable(so.supplier_id, currency)
    )
    commission_ref = (
        AccountRef.commission_available(so.tenant_id, currency)
        if settled
        else AccountRef.commission_pending(so.tenant_id, currency)
    )
    lines: list[Line] = [
        (supplier_ref, supply),
        (commission_ref, commission + creator_coupons),
        (commission_ref, -creator_coupons),
        (AccountRef.platform_revenue(currency), fee),
        (AccountRef.platform_marketing(currency), -marketing),
        (AccountRef.clearing(payment.provider, currency), -case.refund_fen),
    ]
    # The figures' invariant (see _returned_up_to): what went in is what goes back out.
    assert supply + fee + commission == case.refund_fen + marketing
    return [(ref, amount) for ref, amount in lines if amount]


__all__ = [
    "CARRIERS",
    "FulfilmentLine",
    "RefundNotMade",
    "ReturnShares",
    "ShipTo",
    "fulfilment_notice_send",
    "return_cancel",
    "return_days_for",
    "return_open",
    "return_receive",
    "return_reject",
    "return_shares",
    "returns_open",
    "supplier_order_deliver",
    "supplier_order_ship",
    "supplier_orders_create",
]
