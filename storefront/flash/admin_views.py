"""The creator's flash sales (秒杀) in her shop's Wagtail admin: list, schedule, change, cancel
(with a page that asks first) and the after-sale report.

A flash sale takes units out of the supplier's stock and sells below the shop's price, so every
page needs storefront.manage_shop (the owner's permission, team.roles), like coupons. Sales live
in the shop's own schema: another shop's sale id is simply not found here.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_SHOP

from .forms import SERVICE_FIELDS, FlashSaleForm
from .models import FlashSale
from .selectors import flash_report
from .services import (
    flash_sale_cancel,
    flash_sale_has_buyers,
    flash_sale_schedule,
    flash_sale_update,
)

PAGE_SIZE = 20
ICON = "time"


def errors_to_form(form: FlashSaleForm, exc: ValidationError) -> None:
    """The service's refusal on the field it is about (or above the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        field = SERVICE_FIELDS.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


@perm_required(MANAGE_SHOP)
def flash_index(request: HttpRequest) -> HttpResponse:
    sales = FlashSale.objects.select_related("item__listing", "item__sku").order_by(
        "-starts_at", "-id"
    )
    page = Paginator(sales, PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "storefront/flash/admin_index.html",
        {"page_title": _("Flash sales"), "header_icon": ICON, "page": page},
    )


def _form_page(
    request: HttpRequest, form: FlashSaleForm, sale: FlashSale | None, status: int = 200
) -> HttpResponse:
    return TemplateResponse(
        request,
        "storefront/flash/admin_form.html",
        {
            "page_title": sale.display_title if sale else _("New flash sale"),
            "header_icon": ICON,
            "form": form,
            "sale": sale,
            "locked": sale is not None and flash_sale_has_buyers(sale),
        },
        status=status,
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def flash_new(request: HttpRequest) -> HttpResponse:
    form = FlashSaleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        terms = form.terms()
        try:
            sale = flash_sale_schedule(
                item=form.cleaned_data["item"],
                price_fen=terms.price_fen,
                quantity=terms.quantity,
                per_buyer_limit=terms.per_buyer_limit,
                announce_at=terms.announce_at,
                starts_at=terms.starts_at,
                ends_at=terms.ends_at,
                pay_minutes=terms.pay_minutes,
                registered_only=terms.registered_only,
                title=terms.title,
                created_by=request.user,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(
                request,
                _("Flash sale scheduled: %(n)s units were taken out of the supplier's stock.")
                % {"n": sale.quantity},
            )
            return redirect("storefront_flash_sale", pk=sale.pk)
    return _form_page(request, form, None, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def flash_edit(request: HttpRequest, pk: int) -> HttpResponse:
    sale = get_object_or_404(FlashSale.objects.select_related("item__listing", "item__sku"), pk=pk)
    if request.method == "POST":
        form = FlashSaleForm(request.POST, sale=sale)
        if form.is_valid():
            try:
                flash_sale_update(sale=sale, terms=form.terms())
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, _("Flash sale saved."))
                return redirect("storefront_flash_sale", pk=sale.pk)
    else:
        form = FlashSaleForm(initial=FlashSaleForm.initial_from(sale), sale=sale)
    return _form_page(request, form, sale, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
def flash_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The sale and its report (live during the sale, final after it)."""
    sale = get_object_or_404(FlashSale.objects.select_related("item__listing", "item__sku"), pk=pk)
    return TemplateResponse(
        request,
        "storefront/flash/admin_detail.html",
        {
            "page_title": sale.display_title,
            "header_icon": ICON,
            "sale": sale,
            "report": flash_report(sale=sale),
            "editable": sale.state in (FlashSale.State.SCHEDULED, FlashSale.State.LIVE),
        },
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def flash_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a sale before it starts: a page that asks first (GET), then does it (POST)."""
    sale = get_object_or_404(FlashSale.objects.select_related("item__listing"), pk=pk)
    error = ""
    if sale.state != FlashSale.State.SCHEDULED:
        error = _("This sale is %(state)s: it cannot be cancelled.") % {
            "state": sale.get_state_display()
        }
    elif request.method == "POST":
        try:
            flash_sale_cancel(sale=sale)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request, _("Flash sale cancelled: its units are back in the supplier's stock.")
            )
            return redirect("storefront_flash_sale", pk=sale.pk)
    return TemplateResponse(
        request,
        "storefront/flash/admin_confirm.html",
        {"page_title": sale.display_title, "header_icon": ICON, "sale": sale, "error": error},
        status=409 if error else 200,
    )
