"""The creator's coupons in her shop's Wagtail admin: list, create, edit, pause/resume/end, and a
coupon's page (link, QR code, figures, redemptions).

Coupons spend the shop's money (a creator coupon comes out of her commission), so every page
needs storefront.manage_shop, the owner's permission (team.roles); other roles never see the
menu item and are sent back to the dashboard. Coupons live in the shop's own schema: another
shop's coupon id is simply not found here.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.qr import qr_svg
from core.shop import current_shop
from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_SHOP

from .forms import CouponForm
from .models import Coupon, CouponRedemption
from .selectors import coupon_creator_cap_fen, coupon_stats
from .services import coupon_create, coupon_end, coupon_pause, coupon_resume, coupon_update

PAGE_SIZE = 20
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed


def _code_new() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if not Coupon.objects.filter(code=code).exists():
            return code


def _coupon_link(request: HttpRequest, coupon: Coupon) -> str:
    """The coupon's link on the shop's own domain (the admin may be on any of its hosts)."""
    path = reverse("storefront:coupon", args=[coupon.code])
    domain = current_shop().get_primary_domain()
    if domain is None:
        return request.build_absolute_uri(path)
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    host = domain.domain if port == default else f"{domain.domain}:{port}"
    return f"{request.scheme}://{host}{path}"


# The service names amounts in fen; the form asks for them in yuan under these names.
SERVICE_FIELDS = {"amount_fen": "amount", "max_off_fen": "max_off", "min_goods_fen": "min_goods"}


def _errors_to_form(form: CouponForm, exc: ValidationError) -> None:
    """The service's refusal on the field it is about (or above the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        field = SERVICE_FIELDS.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


def _cap_hint(request: HttpRequest) -> int:
    """The most a creator coupon can take off the cheapest in-scope item, for the form's hint:
    of the goods she ticked (after a post), else of the whole shop."""
    listing_ids: list[int] | None = None
    if request.method == "POST" and request.POST.get("scope") == Coupon.Scope.LISTINGS:
        ids = [v for v in request.POST.getlist("listings") if v.isdigit() and len(v) < 10]
        listing_ids = [int(v) for v in ids] or None
    return coupon_creator_cap_fen(listing_ids=listing_ids)


@perm_required(MANAGE_SHOP)
def coupons_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(Coupon.objects.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(coupon, coupon_stats(coupon=coupon)) for coupon in page.object_list]
    return TemplateResponse(
        request,
        "storefront/coupons/admin_index.html",
        {"page_title": _("Coupons"), "header_icon": "tag", "page": page, "rows": rows},
    )


def _form_page(
    request: HttpRequest, form: CouponForm, coupon: Coupon | None, status: int = 200
) -> HttpResponse:
    return TemplateResponse(
        request,
        "storefront/coupons/admin_form.html",
        {
            "page_title": coupon.name if coupon else _("New coupon"),
            "header_icon": "tag",
            "form": form,
            "coupon": coupon,
            "cap_fen": _cap_hint(request),
        },
        status=status,
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def coupon_new(request: HttpRequest) -> HttpResponse:
    form = CouponForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") != "check" and form.is_valid():
        fields = form.fields_for_service()
        try:
            coupon = coupon_create(code=form.cleaned_data["code"] or _code_new(), **fields)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Coupon “%(name)s” created.") % {"name": coupon.name})
            return redirect("storefront_coupon", pk=coupon.pk)
    return _form_page(request, form, None, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def coupon_edit(request: HttpRequest, pk: int) -> HttpResponse:
    coupon = get_object_or_404(Coupon, pk=pk)
    if request.method == "POST":
        form = CouponForm(request.POST, coupon=coupon)
        if request.POST.get("action") != "check" and form.is_valid():
            try:
                coupon_update(coupon=coupon, **form.fields_for_service())
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("Coupon saved."))
                return redirect("storefront_coupon", pk=coupon.pk)
    else:
        form = CouponForm(initial=CouponForm.initial_from(coupon), coupon=coupon)
    return _form_page(request, form, coupon, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
def coupon_detail(request: HttpRequest, pk: int) -> HttpResponse:
    coupon = get_object_or_404(Coupon, pk=pk)
    redemptions = (
        CouponRedemption.objects.filter(coupon=coupon)
        .select_related("order")
        .order_by("-created_at", "-id")
    )
    page = Paginator(redemptions, PAGE_SIZE).get_page(request.GET.get("page"))
    link = _coupon_link(request, coupon)
    return TemplateResponse(
        request,
        "storefront/coupons/admin_detail.html",
        {
            "page_title": coupon.name,
            "header_icon": "tag",
            "coupon": coupon,
            "stats": coupon_stats(coupon=coupon),
            "link": link,
            "qr": qr_svg(link),
            "page": page,
        },
    )


ACTIONS = {
    "pause": (coupon_pause, {Coupon.Status.ACTIVE}),
    "resume": (coupon_resume, {Coupon.Status.PAUSED}),
    "end": (coupon_end, {Coupon.Status.ACTIVE, Coupon.Status.PAUSED}),
}


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def coupon_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Pause, resume or end a coupon: a page that asks first (GET), then does it (POST)."""
    if action not in ACTIONS:
        raise Http404
    coupon = get_object_or_404(Coupon, pk=pk)
    service, allowed = ACTIONS[action]
    error = ""
    if coupon.status not in allowed:
        error = _("This coupon is %(status)s: nothing to do.") % {
            "status": coupon.get_status_display()
        }
    elif request.method == "POST":
        try:
            service(coupon=coupon)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            done = {
                "pause": _("Coupon paused: fans cannot claim it until you resume it."),
                "resume": _("Coupon resumed."),
                "end": _("Coupon ended."),
            }[action]
            messages.success(request, done)
            return redirect("storefront_coupon", pk=coupon.pk)
    return TemplateResponse(
        request,
        "storefront/coupons/admin_confirm.html",
        {
            "page_title": coupon.name,
            "header_icon": "tag",
            "coupon": coupon,
            "action": action,
            "error": error,
        },
        status=409 if error else 200,
    )
