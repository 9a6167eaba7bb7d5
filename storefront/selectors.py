"""Reads of a shop's listings. Run inside the shop's tenant context."""

from __future__ import annotations

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from .models import Listing, ListingItem, Order, Review


def shop_listings() -> QuerySet[Listing]:
    """The current shop's listings with their items and the live catalog rows behind them."""
    items = ListingItem.objects.select_related("sku__product__supplier").order_by("id")
    return (
        Listing.objects.select_related("product__supplier")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-created_at", "-id")
    )


def listed_product_ids() -> set[int]:
    return set(Listing.objects.values_list("product_id", flat=True))


def flagged_item_count() -> int:
    return ListingItem.objects.filter(price_flagged=True).count()


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

    payments = Payment.objects.filter(
        tenant_id=connection.tenant.pk, order_number=order.number
    ).order_by("created_at")
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "payments": list(payments),
        "fulfilment": _fulfilment_for(order),
        **_aftersale_for(order),
    }


def _fulfilment_for(order: Order) -> list:
    """The suppliers' shipments of ORDER (public rows naming this shop's order)."""
    from billing.fulfilment.selectors import supplier_orders_for_order

    return list(supplier_orders_for_order(tenant=connection.tenant, order_number=order.number))


def _aftersale_for(order: Order) -> dict:
    """Returns (what can still go back, cases so far) and the invoice, for the order page."""
    from billing.documents.selectors import invoice_for_order
    from billing.documents.services import document_link
    from billing.fulfilment.selectors import return_cases_for_order, return_options_for_order

    tenant = connection.tenant
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
        tenant_id=connection.tenant.pk,
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
    return {
        "contact": last.contact_mobile or last.contact_email,
        "recipient": last.recipient,
        "recipient_phone": last.recipient_phone,
        "province": last.province,
        "city": last.city,
        "district": last.district,
        "street": last.street,
    }


def listing_url(listing_id: int) -> str:
    """The listing's product page (a route of the shop's goods page)."""
    from cms.models import ShopIndexPage

    index = ShopIndexPage.objects.live().first()
    if index is None:
        return "/"
    return f"{index.url.rstrip('/')}/p/{listing_id}/"


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
