"""After the sale, on the buyer's order page: 7-day returns and the 发票 request. Thin views:
the rules (windows, exceptions, amounts, one invoice per order) live in billing's services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.documents.services import invoice_request
from billing.fulfilment.forms import ReturnShipmentForm
from billing.fulfilment.selectors import return_case_for_order
from billing.fulfilment.services import return_shipment_record, returns_open
from core.forms import form_errors_text
from core.shop import current_shop
from storefront.models import Order
from storefront.orders.visitor import order_for_visitor

from .forms import InvoiceRequestForm, ReturnRequestForm
from .invoices import invoice_lines_for


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_POST
def return_request_view(request: HttpRequest, number: str) -> HttpResponse:
    order = order_for_visitor(request, number)
    form = ReturnRequestForm(
        request.POST, lines=[(line.pk, line.title) for line in order.lines.all()]
    )
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("storefront:order_detail", number=number)
    try:
        returns_open(
            tenant=current_shop(),
            order_number=number,
            items=form.items(),
            reason=form.cleaned_data["reason"],
        )
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
    order = order_for_visitor(request, number)
    case = return_case_for_order(tenant=current_shop(), order_number=order.number, pk=case_id)
    if case is None:
        raise Http404
    form = ReturnShipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
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


@require_POST
def invoice_request_view(request: HttpRequest, number: str) -> HttpResponse:
    order = order_for_visitor(request, number)
    if order.status != Order.Status.PAID:
        messages.error(request, _("An invoice can be requested once the order is paid."))
        return redirect("storefront:order_detail", number=number)
    form = InvoiceRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("storefront:order_detail", number=number)
    try:
        invoice_request(
            tenant=current_shop(),
            order_number=number,
            title=form.cleaned_data["title"],
            taxpayer_id=form.cleaned_data["taxpayer_id"],
            email=form.cleaned_data["email"],
            lines=invoice_lines_for(order),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Invoice requested. We e-mail it to you when it is ready."))
    return redirect("storefront:order_detail", number=number)
