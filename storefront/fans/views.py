"""A returning buyer signs in to one shop with a one-time code (no password), and her account
page (我的): her orders by state, her coupons, whom she brought and her data."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.clients import client_bucket, rate_limited
from core.shop import current_shop, in_shop
from storefront.coupons.selectors import fan_coupons
from storefront.models import Order
from storefront.orders.selectors import fan_addresses
from storefront.orders.wx_identity import fan_verified

from .account import (
    SESSION_FAN,
    TAB_LABELS,
    contact_masked,
    fan_ensure,
    fan_orders,
    signed_in_fan,
    tab_counts,
)
from .codes import CodesLimited, code_request, code_verify
from .forms import CodeForm, ContactForm

SESSION_CONTACT = "storefront_code_contact"
# Where a fan goes once signed in (a coupon she was claiming); her account page otherwise.
SESSION_NEXT = "storefront_signin_next"


def _next_keep(request: HttpRequest) -> None:
    """Remember ?next= for after the code, if it is a path on this shop (never another site:
    a sign-in link must not be usable to send people elsewhere)."""
    target = request.GET.get("next", "")
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) <= 200
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        request.session[SESSION_NEXT] = target


def _shop_name(request: HttpRequest) -> str:
    # The shop the tenant middleware chose from the host (the public schema has none to name).
    shop = current_shop() if in_shop() else None
    return getattr(shop, "name", "") or request.get_host()


@require_http_methods(["GET", "POST"])
def code_request_view(request: HttpRequest) -> HttpResponse:
    _next_keep(request)
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        contact = form.cleaned_data["contact"]
        value = contact["email"] or contact["mobile"]
        try:
            code_request(
                contact=value, shop_name=_shop_name(request), client=client_bucket(request)
            )
        except CodesLimited as exc:
            form.add_error(None, exc)
            status = 429
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session[SESSION_CONTACT] = value
            return redirect("storefront:code_verify")
    return TemplateResponse(
        request, "storefront/fans/code_request.html", {"form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
def code_verify_view(request: HttpRequest) -> HttpResponse:
    contact = request.session.get(SESSION_CONTACT)
    if not contact:
        return redirect("storefront:code_request")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and rate_limited(name="code_verify", value=client_bucket(request)):
        # Counted before the form is read: guesses at many contacts' codes from one client.
        form = CodeForm()
        form.add_error(None, _("Too many attempts. Please try again in an hour."))
        status = 429
    elif request.method == "POST" and form.is_valid():
        try:
            fan = code_verify(contact=contact, code=form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            request.session.pop(SESSION_CONTACT, None)
            if fan is None:
                # Right code, no orders here yet: she is a fan now (a coupon needs a holder).
                fan = fan_ensure(contact=contact)
            target = request.session.pop(SESSION_NEXT, None) or reverse("storefront:account")
            request.session.cycle_key()  # a new session for a newly recognised buyer
            request.session[SESSION_FAN] = fan.pk
            numbers = Order.objects.filter(fan=fan).order_by("-created_at")[:20]
            request.session["storefront_orders"] = list(numbers.values_list("number", flat=True))
            fan_verified(request, fan)  # inside WeChat: her openid, if the session has one
            return redirect(target)
    return TemplateResponse(
        request,
        "storefront/fans/code_verify.html",
        {"form": form, "contact": contact},
        status=status,
    )


@require_POST
def signout_view(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("/")


@never_cache
@require_GET
def account_view(request: HttpRequest) -> HttpResponse:
    """我的: her orders by state and her coupons; signed out, the way to sign in."""
    fan = signed_in_fan(request)
    if fan is None:
        return TemplateResponse(
            request,
            "storefront/fans/account.html",
            {"fan": None, "form": ContactForm(), "next": reverse("storefront:account")},
        )
    rows = fan_orders(fan=fan)
    tab = request.GET.get("tab", "all")
    if tab not in TAB_LABELS:
        tab = "all"
    counts = tab_counts(rows)
    return TemplateResponse(
        request,
        "storefront/fans/account.html",
        {
            "fan": fan,
            "greeting": contact_masked(fan),
            "tab": tab,
            "tabs": [(key, label, counts[key]) for key, label in TAB_LABELS.items()],
            "rows": [row for row in rows if tab in row.tabs],
            "coupons": fan_coupons(fan=fan),
            "addresses": fan_addresses(fan_id=fan.pk, limit=3),
        },
    )
