"""After the sale, on the buyer's order page: 7-day returns, the 发票 request, reviews. Thin views:
the rules (windows, exceptions, amounts, one invoice per order) live in billing's services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.documents.services import InvoiceLine, invoice_request
from billing.fulfilment.forms import ReturnShipmentForm
from billing.fulfilment.selectors import return_case_for_order
from billing.fulfilment.services import return_shipment_record, returns_open

from .models import Order
from .reviews import review_create
from .views import _order_for_visitor


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_POST
def return_request_view(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_for_visitor(request, number)
    items: list[tuple[int, int]] = []
    for line in order.lines.all():
        raw = request.POST.get(f"return_{line.pk}", "").strip()
        if not raw or raw == "0":
            continue
        if not raw.isdigit():
            messages.error(request, _("Enter how many to return as a whole number."))
            return redirect("storefront:order_detail", number=number)
        items.append((line.pk, int(raw)))
    if not items:
        messages.error(request, _("Choose what to return."))
        return redirect("storefront:order_detail", number=number)
    reason = request.POST.get("reason", "").strip()[:300]
    try:
        returns_open(tenant=connection.tenant, order_number=number, items=items, reason=reason)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            _("Return requested. Send the goods to the return address below and enter the "
              "parcel's tracking number; you are refunded once they arrive."),
        )  # fmt: skip
    return redirect("storefront:order_detail", number=number)


@require_POST
def return_shipment_view(request: HttpRequest, number: str, case_id: int) -> HttpResponse:
    """The buyer's return parcel: carrier and tracking number, for one return of her order."""
    order = _order_for_visitor(request, number)
    case = return_case_for_order(tenant=connection.tenant, order_number=order.number, pk=case_id)
    if case is None:
        raise Http404
    form = ReturnShipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            return_shipment_record(
                case=case,
                carrier=form.cleaned_data["return_carrier"],
                tracking_number=form.cleaned_data["return_tracking_number"],
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(
                request, _("Tracking number saved. You are refunded once the parcel arrives.")
            )
    url = reverse("storefront:order_detail", kwargs={"number": number})
    return redirect(f"{url}#return-{case.pk}")


def invoice_lines_for(order: Order) -> list[InvoiceLine]:
    lines = [
        InvoiceLine(
            name=f"{line.title} {line.option_label}".strip()[:100],
            quantity=line.quantity,
            unit_price_fen=line.retail_price_fen,
        )
        for line in order.lines.all()
    ]
    if order.shipping_fen:
        lines.append(
            InvoiceLine(
                name=_("Delivery"), quantity=1, unit_price_fen=order.shipping_fen, tax_rate_bp=900
            )
        )
    return lines


@require_POST
def invoice_request_view(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_for_visitor(request, number)
    if order.status != Order.Status.PAID:
        messages.error(request, _("An invoice can be requested once the order is paid."))
        return redirect("storefront:order_detail", number=number)
    try:
        invoice_request(
            tenant=connection.tenant,
            order_number=number,
            title=request.POST.get("title", ""),
            taxpayer_id=request.POST.get("taxpayer_id", ""),
            email=request.POST.get("email", ""),
            lines=invoice_lines_for(order),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Invoice requested. We e-mail it to you when it is ready."))
    return redirect("storefront:order_detail", number=number)


@require_POST
def review_create_view(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_for_visitor(request, number)
    line_id = request.POST.get("line", "")
    rating = request.POST.get("rating", "")
    try:
        review_create(
            order=order,
            line_id=int(line_id) if line_id.isdigit() else 0,
            rating=int(rating) if rating.isdigit() else None,
            text=request.POST.get("text", ""),
            photos=request.FILES.getlist("photos"),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Thank you for your review!"))
    return redirect("storefront:order_detail", number=number)
