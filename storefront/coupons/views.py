"""A coupon's link, /c/<code>/: its rules, validity and QR code, and claiming it (领取).

Claims are POSTs (CSRF-checked), counted per client (core.clients, VSTORE_RATES["coupon_claim"]):
a bot cannot empty a coupon's total by claiming from one address. A fan who is not signed in is
sent through the sign-in code first; her claim waits in her session and is made when she comes
back to the coupon, so one tap on 领取 is all she does.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.clients import client_bucket, rate_limited, too_many_requests
from core.qr import qr_svg
from storefront.fans.account import signed_in_fan
from storefront.models import Fan

from .models import Coupon, CouponClaim
from .services import coupon_by_code, coupon_claim, coupon_live_problem

# As typed in a link: ASCII letters (any case) and digits; nothing else reaches the database.
CODE = re.compile(r"[A-Za-z0-9]{4,16}\Z")
# Where a claim came from, as the claim records it; anything else posted counts as the link.
SOURCES = {"link", "product", "article", "code"}
# A claim made before signing in, made when she comes back signed in (the code and the source).
SESSION_PENDING = "storefront_coupon_pending"


def _public_coupon(code: str) -> Coupon:
    """This shop's coupon with CODE that anyone may claim; 404 otherwise (another shop's code,
    a sharing reward, a malformed code: all the same answer, so codes cannot be probed)."""
    coupon = coupon_by_code(code=code) if CODE.match(code) else None
    if coupon is None or coupon.purpose != Coupon.Purpose.PUBLIC:
        raise Http404
    return coupon


def coupon_closed_reason(coupon: Coupon) -> str:
    """Why nobody can claim COUPON now ("" when anyone can), for the page; the claim service
    decides for real when she presses the button."""
    problem = coupon_live_problem(coupon)
    if problem:
        return problem
    if coupon.total_limit is not None and coupon.claimed_count >= coupon.total_limit:
        return _("All of these coupons have been claimed.")
    return ""


def _claims_of(*, coupon: Coupon, fan: Fan) -> dict[str, int]:
    """How many of COUPON she has claimed, and how many of those she can still spend."""
    return CouponClaim.objects.filter(coupon=coupon, fan=fan).aggregate(
        total=Count("id"), available=Count("id", filter=Q(state=CouponClaim.State.AVAILABLE))
    )


def _claim(request: HttpRequest, *, coupon: Coupon, fan: Fan, source: str) -> str:
    """Claim COUPON for FAN; the error to show, "" when it is in her wallet now."""
    try:
        coupon_claim(coupon=coupon, fan=fan, source=source)
    except ValidationError as exc:
        return " ".join(exc.messages)
    messages.success(request, _("Claimed! The coupon is in your wallet at “Me”."))
    return ""


@never_cache
@require_http_methods(["GET", "POST"])
def coupon_view(request: HttpRequest, code: str) -> HttpResponse:
    coupon = _public_coupon(code)
    here = reverse("storefront:coupon", args=[coupon.code])
    fan = signed_in_fan(request)
    error = ""
    if request.method == "POST":
        if rate_limited(name="coupon_claim", value=client_bucket(request)):
            return too_many_requests(request)
        source = request.POST.get("source", "")
        source = source if source in SOURCES else "link"
        if fan is None:
            request.session[SESSION_PENDING] = {"code": coupon.code, "source": source}
            return redirect(f"{reverse('storefront:code_request')}?{urlencode({'next': here})}")
        error = _claim(request, coupon=coupon, fan=fan, source=source)
        if not error:
            return redirect(here)
    elif fan is not None:
        pending = request.session.get(SESSION_PENDING)
        if isinstance(pending, dict) and pending.get("code") == coupon.code:
            # Her 领取 from before she signed in (a CSRF-checked, rate-limited POST).
            del request.session[SESSION_PENDING]
            source = str(pending.get("source"))
            source = source if source in SOURCES else "link"
            error = _claim(request, coupon=coupon, fan=fan, source=source)
            if not error:
                return redirect(here)
    mine = _claims_of(coupon=coupon, fan=fan) if fan is not None else None
    return TemplateResponse(
        request,
        "storefront/coupons/coupon.html",
        {
            "coupon": coupon,
            "closed": coupon_closed_reason(coupon),
            "error": error,
            "fan": fan,
            "mine": mine,
            "link": request.build_absolute_uri(here),
            "qr": qr_svg(request.build_absolute_uri(here)),
            "left": (
                max(coupon.total_limit - coupon.claimed_count, 0)
                if coupon.total_limit is not None
                else None
            ),
        },
        status=409 if error else 200,
    )
