"""Supplier portal: orders to ship, delivery, and returns to confirm (/supplier/fulfilment/).

Every query starts from the logged-in supplier, so another supplier's order or return id gives
404, for reads and for posts alike.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.fulfilment import selectors, services
from billing.fulfilment.models import FulfilmentEvent, ReturnCase, SupplierOrder
from catalog.models import Supplier
from core.forms import SafeFormMixin
from core.money import yuan_plain

from .supplier_views import _page, errors_to_form, supplier_required


class ShipForm(SafeFormMixin, forms.Form):
    carrier = forms.CharField(label=gettext_lazy("Carrier"), max_length=40)
    tracking_number = forms.CharField(label=gettext_lazy("Tracking number"), max_length=40)


class RejectForm(SafeFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Why"), max_length=300)


# What each recorded move is called in the history (the events store plain action codes).
EVENT_LABELS = {
    "ship": gettext_lazy("Shipped"),
    "deliver": gettext_lazy("Delivered"),
    "return_open": gettext_lazy("Return requested"),
    "return_receive": gettext_lazy("Returned goods received"),
    "return_refund": gettext_lazy("Refunded"),
    "return_rejected": gettext_lazy("Return rejected"),
    "return_cancelled": gettext_lazy("Return cancelled"),
}


def _history(so: SupplierOrder) -> list[tuple[FulfilmentEvent, str]]:
    """The order's events with a translated label each, never a raw code."""
    statuses = {**dict(SupplierOrder.Status.choices), **dict(ReturnCase.Status.choices)}
    out = []
    for event in so.events.select_related("actor"):
        label = EVENT_LABELS.get(event.action) or statuses.get(event.to_status) or event.action
        out.append((event, str(label)))
    return out


def _order_or_404(supplier: Supplier, pk: int) -> SupplierOrder:
    so = selectors.supplier_order_get(supplier=supplier, pk=pk)
    if so is None:
        raise Http404
    return so


def _case_or_404(supplier: Supplier, pk: int) -> ReturnCase:
    case = selectors.supplier_return_get(supplier=supplier, pk=pk)
    if case is None:
        raise Http404
    return case


@supplier_required
def queue(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    """Orders by status, oldest first: the to-ship queue unless another tab is chosen."""
    status = request.GET.get("status") or SupplierOrder.Status.TO_SHIP
    if status not in SupplierOrder.Status.values:
        status = SupplierOrder.Status.TO_SHIP
    orders = selectors.supplier_orders_of(supplier=supplier, status=status).prefetch_related(
        "lines"
    )
    return render(
        request,
        "console/supplier/fulfilment/queue.html",
        {
            "supplier": supplier,
            "page": _page(request, orders),
            "status": status,
            "statuses": SupplierOrder.Status.choices,
            "counts": selectors.supplier_counts(supplier=supplier),
        },
    )


@supplier_required
def order_detail(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    so = _order_or_404(supplier, pk)
    return render(
        request,
        "console/supplier/fulfilment/order.html",
        {
            "supplier": supplier,
            "so": so,
            "form": ShipForm(),
            "carriers": services.CARRIERS,
            "events": _history(so),
        },
    )


@require_POST
@supplier_required
def order_ship(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    so = _order_or_404(supplier, pk)
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            services.supplier_order_ship(
                supplier_order=so, supplier=supplier, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(
                request, _("Order %(number)s is shipped.") % {"number": so.order_number}
            )
            return redirect("supplier:fulfilment_order", pk=so.pk)
    return render(
        request,
        "console/supplier/fulfilment/order.html",
        {
            "supplier": supplier,
            "so": so,
            "form": form,
            "carriers": services.CARRIERS,
            "events": _history(so),
        },
        status=400,
    )


@require_POST
@supplier_required
def order_deliver(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    so = _order_or_404(supplier, pk)
    try:
        services.supplier_order_deliver(supplier_order=so, supplier=supplier, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Order %(number)s is delivered.") % {"number": so.order_number})
    return redirect("supplier:fulfilment_order", pk=so.pk)


@supplier_required
def returns(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    """Returns to confirm (requested) first; other states by tab."""
    status = request.GET.get("status") or ReturnCase.Status.REQUESTED
    if status not in ReturnCase.Status.values:
        status = ReturnCase.Status.REQUESTED
    return render(
        request,
        "console/supplier/fulfilment/returns.html",
        {
            "supplier": supplier,
            "page": _page(request, selectors.supplier_returns(supplier=supplier, status=status)),
            "status": status,
            "statuses": ReturnCase.Status.choices,
            "counts": selectors.supplier_counts(supplier=supplier),
        },
    )


@require_POST
@supplier_required
def return_receive(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    case = _case_or_404(supplier, pk)
    try:
        case = services.return_receive(case=case, supplier=supplier, actor=request.user)
    except services.RefundNotMade:
        messages.error(
            request,
            _("Receipt recorded, but the payment provider could not be reached: try again."),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Return of order %(number)s confirmed: %(yuan)s yuan refunded to the buyer.")
            % {"number": case.order_number, "yuan": yuan_plain(case.refund_fen)},
        )
    return redirect("supplier:fulfilment_returns")


@require_POST
@supplier_required
def return_reject(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    case = _case_or_404(supplier, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you refuse the return."))
        return redirect("supplier:fulfilment_returns")
    try:
        services.return_reject(
            case=case, supplier=supplier, note=form.cleaned_data["note"], actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Return refused."))
    return redirect("supplier:fulfilment_returns")
