"""Reads of a shop's orders for the buyer's pages and the creator's admin (in its context)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.shop import current_shop, current_shop_id
from storefront.models import Fan, Order, Review

from .progress import order_progress, order_shipments


def order_get(*, number: str) -> Order | None:
    return Order.objects.select_related("fan").filter(number=number).first()


def order_lookup(*, number: str, phone: str) -> Order | None:
    """The order with NUMBER if PHONE is its contact or recipient mobile; else None."""
    return (
        Order.objects.filter(number=number)
        .filter(Q(contact_mobile=phone) | Q(recipient_phone=phone))
        .first()
    )


def order_contact(order_number: str) -> tuple[str, str] | None:
    """(e-mail, mobile) to tell the buyer of ORDER_NUMBER about her order; None if unknown."""
    row = Order.objects.filter(number=order_number).values_list("contact_email", "contact_mobile")
    return row.first()


def order_page_context(*, order: Order) -> dict:
    from billing.models import Payment

    payments = list(
        Payment.objects.filter(tenant_id=current_shop_id(), order_number=order.number).order_by(
            "created_at"
        )
    )
    fulfilment = order_shipments(order)
    aftersale = _aftersale_for(order)
    progress = order_progress(
        order=order,
        payments=payments,
        shipments=fulfilment,
        return_cases=aftersale["return_cases"],
    )
    lines = list(order.lines.all())
    coupon_fen = sum(line.creator_discount_fen + line.platform_discount_fen for line in lines)
    return {
        "order": order,
        "lines": lines,
        # The order's goods are stored after coupons; the page shows them before, and the saving.
        "coupon_fen": coupon_fen,
        "goods_list_fen": order.goods_fen + coupon_fen,
        "payments": payments,
        "fulfilment": fulfilment,
        "progress": progress,
        **aftersale,
    }


def _aftersale_for(order: Order) -> dict:
    """Returns (what can still go back, cases so far) and the invoice, for the order page."""
    from billing.documents.selectors import invoice_for_order
    from billing.documents.services import document_link
    from billing.fulfilment.selectors import return_cases_for_order, return_options_for_order

    tenant = current_shop()
    invoice = invoice_for_order(tenant=tenant, order_number=order.number)
    options = return_options_for_order(tenant=tenant, order_number=order.number)
    delivered = {o.line.line_ref for o in options if o.line.supplier_order.status == "delivered"}
    reviewed = set(Review.objects.filter(line__order=order).values_list("line_id", flat=True))
    return {
        "reviewable_lines": [
            line for line in order.lines.all() if line.pk in delivered and line.pk not in reviewed
        ],
        "return_options": [o for o in options if o.returnable_quantity],
        "return_cases": list(return_cases_for_order(tenant=tenant, order_number=order.number)),
        "invoice": invoice,
        "invoice_url": document_link(document=invoice) if invoice and invoice.file else "",
    }


def payment_open_for(*, order: Order, provider: str = ""):
    """The order's payment the buyer can still complete (with PROVIDER, if given), newest
    first; None if there is none."""
    from billing.models import Payment

    payments = Payment.objects.filter(
        tenant_id=current_shop_id(),
        order_number=order.number,
        status=Payment.Status.CREATED,
    )
    if provider:
        payments = payments.filter(provider=provider)
    return payments.order_by("-created_at").first()


def buyer_initial(request) -> dict:
    """Checkout form defaults for a recognised buyer: her last order's address."""
    fan_id = request.session.get("storefront_fan")
    if not fan_id:
        return {}
    last = Order.objects.filter(fan_id=fan_id).order_by("-created_at").first()
    if last is None:
        return {}
    # The contact field is for a second way to reach her: empty when it was the same mobile.
    contact = last.contact_email or (
        last.contact_mobile if last.contact_mobile != last.recipient_phone else ""
    )
    return {
        "contact": contact,
        "recipient": last.recipient,
        "recipient_phone": last.recipient_phone,
        "province": last.province,
        "city": last.city,
        "district": last.district,
        "street": last.street,
    }


def orders_for_admin(*, status: str = "", query: str = "") -> QuerySet[Order]:
    orders = Order.objects.select_related("fan").order_by("-created_at", "-id")
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(
            Q(number__icontains=query)
            | Q(contact_mobile__contains=query)
            | Q(contact_email__icontains=query)
            | Q(recipient__icontains=query)
        )
    return orders


# The signed-in fan's id in the session. storefront.fans signs her in (fans.account.SESSION_FAN,
# the same key; tests/test_coupons_checkout.py checks they agree): orders cannot import fans,
# which builds on orders.
SESSION_FAN = "storefront_fan"


def session_fan(*, fan_id: object) -> Fan | None:
    """The signed-in fan with FAN_ID (the session's value), or None."""
    if isinstance(fan_id, bool) or not isinstance(fan_id, int):
        return None
    return Fan.objects.filter(pk=fan_id).first()
