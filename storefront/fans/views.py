"""A returning buyer signs in to one shop with a one-time code (no password)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.clients import client_bucket, rate_limited
from core.shop import current_shop, in_shop
from storefront.models import Order

from .codes import CodesLimited, code_request, code_verify
from .forms import CodeForm, ContactForm

SESSION_FAN = "storefront_fan"
SESSION_CONTACT = "storefront_code_contact"


def _shop_name(request: HttpRequest) -> str:
    # The shop the tenant middleware chose from the host (the public schema has none to name).
    shop = current_shop() if in_shop() else None
    return getattr(shop, "name", "") or request.get_host()


@require_http_methods(["GET", "POST"])
def code_request_view(request: HttpRequest) -> HttpResponse:
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
    orders: list[Order] = []
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
                messages.info(request, _("Welcome! You have no orders in this shop yet."))
                return redirect("/")
            request.session.cycle_key()  # a new session for a newly recognised buyer
            request.session[SESSION_FAN] = fan.pk
            orders = list(Order.objects.filter(fan=fan).order_by("-created_at")[:20])
            request.session["storefront_orders"] = [o.number for o in orders]
            return TemplateResponse(request, "storefront/fans/my_orders.html", {"orders": orders})
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
