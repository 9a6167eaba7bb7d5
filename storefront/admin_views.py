"""The creator's "pick goods" pages in her shop's Wagtail admin.

Browsing reads the public catalog (the shop's search_path ends in the public schema); adding
writes a Listing in the shop's own schema through storefront.services. These pages show supply
prices and margins, so they are the owner's (storefront.change_listing, see team.roles); adding
and saving also need add_listing / change_listing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from catalog.forms import CatalogFilterForm, YuanField
from catalog.selectors import (
    CatalogFilters,
    catalog_browse,
    listable_product_get,
    listable_suppliers,
)

from .models import Listing
from .selectors import flagged_item_count, listed_product_ids, shop_listings
from .services import listing_create, listing_update
from .team.access import perm_required
from .team.roles import MANAGE_LISTINGS

PAGE_SIZE = 20


def _require_listing_perm(request: HttpRequest) -> None:
    if not request.user.has_perm("storefront.add_listing"):
        raise PermissionDenied


def _price_errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


@perm_required(MANAGE_LISTINGS)
def catalog_index(request: HttpRequest) -> HttpResponse:
    suppliers = [(str(s.pk), s.company_name) for s in listable_suppliers()]
    form = CatalogFilterForm(request.GET or None, suppliers=suppliers)
    filters = CatalogFilters()
    if form.is_valid():
        d = form.cleaned_data
        filters = CatalogFilters(
            q=d["q"].strip(),
            category_id=d["category"],
            supplier_id=d["supplier"],
            min_price_fen=d["min_price"],
            max_price_fen=d["max_price"],
            min_margin_fen=d["min_margin"],
            min_rating=d["min_rating"],
            order=d["order"] or "featured",
        )
    page = Paginator(catalog_browse(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "storefront/admin/catalog_index.html",
        {
            "page_title": _("Pick goods"),
            "header_icon": "list-ul",
            "form": form,
            "page": page,
            "listed": listed_product_ids(),
        },
    )


def _retail_inputs(request: HttpRequest, skus: list[Any]) -> dict[int, tuple[str, int | None]]:
    """The retail price typed per SKU (in yuan), and its value in fen where it parses."""
    source = request.POST if request.method == "POST" else request.GET
    field = YuanField(required=False)
    out: dict[int, tuple[str, int | None]] = {}
    for sku in skus:
        raw = source.get(f"price_{sku.pk}", "")
        try:
            fen = field.clean(raw) if raw else sku.suggested_retail_fen
        except ValidationError:
            fen = None
        out[sku.pk] = (raw, fen)
    return out


@perm_required(MANAGE_LISTINGS)
def catalog_product(request: HttpRequest, pk: int) -> HttpResponse:
    product = listable_product_get(pk=pk)
    skus = list(product.skus.filter(is_active=True).order_by("id"))
    inputs = _retail_inputs(request, skus)
    errors: list[str] = []
    existing = Listing.objects.filter(product=product).first()
    # "Work out my margin" posts the same form (its fields sit beside the CSRF token, which a
    # GET would have put in the URL, the history and the Referer) and only recomputes.
    adding = request.method == "POST" and request.POST.get("action") != "margin"
    if adding:
        _require_listing_perm(request)
        chosen = [s for s in skus if request.POST.get(f"sell_{s.pk}")]
        prices: dict[int, Any] = {}
        for sku in chosen:
            raw, fen = inputs[sku.pk]
            if fen is None:
                errors.append(
                    _("%(sku)s: enter the price in yuan, e.g. 89.90.") % {"sku": sku.label}
                )
            else:
                prices[sku.pk] = fen
        if not errors:
            try:
                listing = listing_create(
                    product=product,
                    title=request.POST.get("title", ""),
                    copy=request.POST.get("copy", ""),
                    prices=prices,
                )
            except ValidationError as exc:
                errors = _price_errors(exc)
            else:
                messages.success(request, _("“%(t)s” is now in your shop.") % {"t": listing.title})
                return redirect("storefront_listings")
    rows = []
    for sku in skus:
        raw, fen = inputs[sku.pk]
        rows.append(
            {
                "sku": sku,
                "raw": raw,
                "retail": fen,
                "margin": fen - sku.supply_price_fen if fen is not None else None,
                "in_bounds": fen is not None and sku.min_retail_fen <= fen <= sku.max_retail_fen,
                "checked": request.method != "POST" or bool(request.POST.get(f"sell_{sku.pk}")),
            }
        )
    return TemplateResponse(
        request,
        "storefront/admin/catalog_product.html",
        {
            "page_title": product.title,
            "header_icon": "list-ul",
            "product": product,
            "rows": rows,
            "images": product.images.filter(is_hidden=False),
            "errors": errors,
            "existing": existing,
            "title_value": request.POST.get("title", product.title),
            "copy_value": request.POST.get("copy", ""),
        },
        status=400 if errors else 200,
    )


@perm_required(MANAGE_LISTINGS)
def listings_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(shop_listings(), PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "storefront/admin/listings_index.html",
        {
            "page_title": _("My listings"),
            "header_icon": "tag",
            "page": page,
            "flagged": flagged_item_count(),
        },
    )


@perm_required(MANAGE_LISTINGS)
def listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    listing = get_object_or_404(shop_listings(), pk=pk)
    items = list(listing.items.all())
    errors: list[str] = []
    if request.method == "POST":
        _require_listing_perm(request)
        field = YuanField(required=True)
        prices: dict[int, Any] = {}
        for item in items:
            try:
                prices[item.sku_id] = field.clean(request.POST.get(f"price_{item.sku_id}", ""))
            except ValidationError:
                errors.append(
                    _("%(sku)s: enter the price in yuan, e.g. 89.90.") % {"sku": item.sku.label}
                )
        if not errors:
            try:
                listing_update(
                    listing=listing,
                    title=request.POST.get("title", ""),
                    copy=request.POST.get("copy", ""),
                    prices=prices,
                    is_active=bool(request.POST.get("is_active")),
                )
            except ValidationError as exc:
                errors = _price_errors(exc)
            else:
                messages.success(request, _("Listing saved."))
                return redirect("storefront_listings")
    return TemplateResponse(
        request,
        "storefront/admin/listing_edit.html",
        {
            "page_title": listing.title,
            "header_icon": "tag",
            "listing": listing,
            "items": items,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
