"""The creator's price drops in her shop's Wagtail admin: list, create, edit, end, and a price
drop's page (the count over time, the price curve, top sharers masked, visits, buyers).

Price drops spend the shop's margin, so every page needs storefront.manage_shop (the owner's
permission, team.roles), like coupons. They live in the shop's own schema: another shop's price
drop id is simply not found here.
"""

from __future__ import annotations

import contextlib

import redis
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.money import yuan
from core.shop import current_shop
from storefront.analytics.charts import line_chart
from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_SHOP

from .forms import SERVICE_FIELDS, PriceDropForm
from .models import PriceDrop
from .selectors import (
    pricedrop_buyers_list,
    pricedrop_curve,
    pricedrop_figures,
    pricedrop_top_sharers,
)
from .services import (
    pricedrop_create,
    pricedrop_end,
    pricedrop_flush,
    pricedrop_standing,
    pricedrop_update,
)

PAGE_SIZE = 20
ICON = "tag"


def _errors_to_form(form: PriceDropForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        field = SERVICE_FIELDS.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


@perm_required(MANAGE_SHOP)
def pricedrops_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        PriceDrop.objects.select_related("item__listing").order_by("-created_at", "-id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = [(c, pricedrop_standing(campaign=c)) for c in page.object_list]
    return TemplateResponse(
        request,
        "storefront/pricedrop/admin_index.html",
        {"page_title": _("Share price drops"), "header_icon": ICON, "page": page, "rows": rows},
    )


def _form_page(
    request: HttpRequest, form: PriceDropForm, campaign: PriceDrop | None, status: int = 200
) -> HttpResponse:
    return TemplateResponse(
        request,
        "storefront/pricedrop/admin_form.html",
        {
            "page_title": campaign.title if campaign else _("New price drop"),
            "header_icon": ICON,
            "form": form,
            "campaign": campaign,
        },
        status=status,
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def pricedrop_new(request: HttpRequest) -> HttpResponse:
    form = PriceDropForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = pricedrop_create(item=form.cleaned_data["item"], terms=form.terms())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(
                request, _("Price drop “%(name)s” created.") % {"name": campaign.title}
            )
            return redirect("storefront_pricedrop", pk=campaign.pk)
    return _form_page(request, form, None, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def pricedrop_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(PriceDrop.objects.select_related("item__sku"), pk=pk)
    if request.method == "POST":
        form = PriceDropForm(request.POST, campaign=campaign)
        if form.is_valid():
            try:
                pricedrop_update(campaign=campaign, terms=form.terms())
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("Price drop saved."))
                return redirect("storefront_pricedrop", pk=campaign.pk)
    else:
        form = PriceDropForm(initial=PriceDropForm.initial_from(campaign), campaign=campaign)
    return _form_page(request, form, campaign, status=400 if form.errors else 200)


def _campaign_link(request: HttpRequest, campaign: PriceDrop) -> str:
    """The price drop's page on the shop's own domain (the admin may be on any of its hosts)."""
    path = reverse("storefront:pricedrop", args=[campaign.pk])
    domain = current_shop().get_primary_domain()
    if domain is None:
        return request.build_absolute_uri(path)
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    host = domain.domain if port == default else f"{domain.domain}:{port}"
    return f"{request.scheme}://{host}{path}"


@perm_required(MANAGE_SHOP)
def pricedrop_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(PriceDrop.objects.select_related("item__listing"), pk=pk)
    with contextlib.suppress(redis.RedisError):  # she sees what Redis counted up to now
        pricedrop_flush(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    points = pricedrop_curve(campaign=campaign)
    labels = [p.label for p in points]
    return TemplateResponse(
        request,
        "storefront/pricedrop/admin_detail.html",
        {
            "page_title": campaign.title,
            "header_icon": ICON,
            "campaign": campaign,
            "standing": pricedrop_standing(campaign=campaign),
            "figures": pricedrop_figures(campaign=campaign),
            "points": points,
            "count_chart": line_chart(
                labels=labels,
                values=[p.counted for p in points],
                title=_("Counted shares over time"),
            ),
            "price_chart": line_chart(
                labels=labels,
                values=[p.price_fen for p in points],
                title=_("Price over time"),
                value_text=yuan,
            ),
            "sharers": pricedrop_top_sharers(campaign=campaign),
            "buyers": pricedrop_buyers_list(campaign=campaign),
            "link": _campaign_link(request, campaign),
        },
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def pricedrop_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    """End a price drop now: a page that asks first (GET), then does it (POST)."""
    campaign = get_object_or_404(PriceDrop, pk=pk)
    if request.method == "POST":
        if campaign.status == PriceDrop.Status.ENDED:
            messages.info(request, _("This price drop has ended already."))
        else:
            pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)
            messages.success(request, _("Price drop ended; unsold units went back to stock."))
        return redirect("storefront_pricedrop", pk=campaign.pk)
    return TemplateResponse(
        request,
        "storefront/pricedrop/admin_end.html",
        {"page_title": campaign.title, "header_icon": ICON, "campaign": campaign},
    )
