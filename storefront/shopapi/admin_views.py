"""The shop admin's 开放接口 (API) page: tokens and webhooks, for the shop's owners only.

A token reads orders and (with the contacts scope) buyers' personal data, and webhooks send
the shop's events out, so only an owner (team.roles.OWNER) may see or change them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storefront.team.roles import OWNER
from storefront.team.selectors import member_roles

from . import services
from .forms import SCOPE_LABELS, TokenForm, WebhookForm
from .models import ShopDelivery, ShopToken, ShopWebhook


def is_owner(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and OWNER in member_roles(user)


def owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_owner(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


def _page(request: HttpRequest, **extra: Any) -> HttpResponse:
    context = {
        "page_title": _("API"),
        "header_icon": "code",
        "tokens": ShopToken.objects.order_by("-created_at")[:50],
        "webhooks": ShopWebhook.objects.order_by("pk"),
        "deliveries": ShopDelivery.objects.select_related("webhook").order_by("-pk")[:30],
        "token_form": TokenForm(),
        "webhook_form": WebhookForm(),
        "scope_labels": SCOPE_LABELS,
        "api_base": request.build_absolute_uri("/api/v1/"),
        **extra,
    }
    return TemplateResponse(request, "storefront/shopapi/admin_index.html", context)


@owner_required
def api_index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@owner_required
@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, plain = services.shop_token_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Shown on this answer only: it is stored hashed and can never be shown again.
            return _page(request, new_token=token, new_plain=plain)
    return _page(request, token_form=form)


@owner_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    services.shop_token_revoke(token=get_object_or_404(ShopToken, pk=pk))
    messages.success(request, _("The token was revoked."))
    return redirect("shopapi_index")


@owner_required
@require_POST
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            hook = services.shop_webhook_create(
                url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _page(request, new_webhook=hook)
    return _page(request, webhook_form=form)


@owner_required
@require_POST
def webhook_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    hook = get_object_or_404(ShopWebhook, pk=pk)
    if action == "resume":
        services.shop_webhook_resume(webhook=hook)
        messages.success(request, _("The webhook was resumed."))
    elif action == "delete":
        services.shop_webhook_delete(webhook=hook)
        messages.success(request, _("The webhook was deleted."))
    else:
        raise PermissionDenied
    return redirect("shopapi_index")


@owner_required
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    services.shop_delivery_resend(delivery=get_object_or_404(ShopDelivery, pk=pk))
    messages.success(request, _("The delivery will be sent again in a moment."))
    return redirect("shopapi_index")
