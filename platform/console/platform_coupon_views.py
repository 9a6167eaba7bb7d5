"""Staff console: platform coupons. Thin views over billing.coupons services and selectors.

Staff only (the console's staff_member_required, as every console page): a supplier or a
creator is sent to the login page. Ending a coupon is for good, so it asks for an explicit
confirmation first; pausing and resuming undo each other and are one press.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.coupons import selectors, services
from billing.coupons.models import PlatformCoupon

from .platform_coupon_forms import PlatformCouponForm
from .supplier_views import errors_to_form

staff: Callable[[Callable[..., Any]], Callable[..., Any]] = staff_member_required(login_url="login")
PAGE_SIZE = 25


def _coupon(pk: int) -> PlatformCoupon:
    try:
        return selectors.platform_coupon_get(pk=pk)
    except PlatformCoupon.DoesNotExist as exc:
        raise Http404 from exc


@staff
def coupon_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    page = Paginator(selectors.platform_coupons(status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "console/platform_coupons/list.html",
        {"page": page, "status": status, "statuses": PlatformCoupon.Status},
    )


@staff
def coupon_create(request: HttpRequest) -> HttpResponse:
    form = PlatformCouponForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            coupon = services.platform_coupon_create(
                **form.service_fields(), created_by=request.user
            )
        except ValidationError as exc:
            errors_to_form(form, _field_names(exc))
        else:
            messages.success(
                request, _("Platform coupon %(code)s created.") % {"code": coupon.code}
            )
            return redirect("console:platform-coupon", pk=coupon.pk)
    status = 400 if form.errors else 200
    return render(request, "console/platform_coupons/create.html", {"form": form}, status=status)


def _field_names(exc: ValidationError) -> ValidationError:
    """The service names amounts in fen (amount_fen); the form asks in yuan (amount)."""
    if not hasattr(exc, "error_dict"):
        return exc
    names = {
        "amount_fen": "amount",
        "max_off_fen": "max_off",
        "min_goods_fen": "min_goods",
        "budget_fen": "budget",
    }
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


@staff
def coupon_detail(request: HttpRequest, pk: int) -> HttpResponse:
    coupon = _coupon(pk)
    return render(
        request,
        "console/platform_coupons/detail.html",
        {
            "coupon": coupon,
            "shops": selectors.platform_coupon_shops(coupon=coupon),
            "uses": selectors.platform_coupon_shop_uses(coupon=coupon),
        },
    )


def _change(request: HttpRequest, pk: int, action: Callable[..., None], done: str) -> HttpResponse:
    coupon = _coupon(pk)
    try:
        action(coupon=coupon)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done % {"code": coupon.code})
    return redirect("console:platform-coupon", pk=pk)


@staff
@require_POST
def coupon_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(
        request, pk, services.platform_coupon_pause, _("%(code)s paused: no new orders take it.")
    )


@staff
@require_POST
def coupon_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, services.platform_coupon_resume, _("%(code)s is active again."))


@staff
def coupon_end(request: HttpRequest, pk: int) -> HttpResponse:
    coupon = _coupon(pk)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the box to confirm that the coupon ends for good."))
            return redirect("console:platform-coupon-end", pk=pk)
        return _change(request, pk, services.platform_coupon_end, _("%(code)s ended for good."))
    return render(request, "console/platform_coupons/end.html", {"coupon": coupon})
