"""The supplier portal's API page (/supplier/api/): tokens and webhooks of the logged-in
supplier only (supplier_required); another supplier's token or webhook id is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.supplierapi import services
from billing.supplierapi.forms import SupplierTokenForm, SupplierWebhookForm
from billing.supplierapi.models import SupplierDelivery, SupplierToken, SupplierWebhook
from catalog.models import Supplier

from .supplier_views import supplier_required


def _page(request: HttpRequest, supplier: Supplier, **extra: Any) -> HttpResponse:
    context = {
        "supplier": supplier,
        "tokens": SupplierToken.objects.filter(supplier=supplier).order_by("-created_at")[:50],
        "webhooks": SupplierWebhook.objects.filter(supplier=supplier).order_by("pk"),
        "deliveries": SupplierDelivery.objects.filter(webhook__supplier=supplier)
        .select_related("webhook")
        .order_by("-pk")[:30],
        "token_form": SupplierTokenForm(),
        "webhook_form": SupplierWebhookForm(),
        "api_base": request.build_absolute_uri("/api/v1/supplier/"),
        **extra,
    }
    return render(request, "console/supplier/api.html", context)


@supplier_required
def api_index(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    return _page(request, supplier)


@require_POST
@supplier_required
def token_new(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = SupplierTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plain = services.supplier_token_create(
                supplier=supplier,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Shown on this answer only: it is stored hashed and can never be shown again.
            return _page(request, supplier, new_token=token, new_plain=plain)
    return _page(request, supplier, token_form=form)


@require_POST
@supplier_required
def token_revoke(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    services.supplier_token_revoke(token=get_object_or_404(SupplierToken, pk=pk, supplier=supplier))
    messages.success(request, _("The token was revoked."))
    return redirect("supplier:api")


@require_POST
@supplier_required
def webhook_new(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = SupplierWebhookForm(request.POST)
    if form.is_valid():
        try:
            hook = services.supplier_webhook_create(
                supplier=supplier, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _page(request, supplier, new_webhook=hook)
    return _page(request, supplier, webhook_form=form)


@require_POST
@supplier_required
def webhook_action(request: HttpRequest, supplier: Supplier, pk: int, action: str) -> HttpResponse:
    hook = get_object_or_404(SupplierWebhook, pk=pk, supplier=supplier)
    if action == "resume":
        services.supplier_webhook_resume(webhook=hook)
        messages.success(request, _("The webhook was resumed."))
    elif action == "delete":
        services.supplier_webhook_delete(webhook=hook)
        messages.success(request, _("The webhook was deleted."))
    else:
        raise Http404
    return redirect("supplier:api")


@require_POST
@supplier_required
def delivery_resend(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    delivery = get_object_or_404(SupplierDelivery, pk=pk, webhook__supplier=supplier)
    services.supplier_delivery_resend(delivery=delivery)
    messages.success(request, _("The delivery will be sent again in a moment."))
    return redirect("supplier:api")


urlpatterns = [
    path("", api_index, name="api"),
    path("tokens/new/", token_new, name="api_token_new"),
    path("tokens/<int:pk>/revoke/", token_revoke, name="api_token_revoke"),
    path("webhooks/new/", webhook_new, name="api_webhook_new"),
    path("webhooks/<int:pk>/<slug:action>/", webhook_action, name="api_webhook_action"),
    path("deliveries/<int:pk>/resend/", delivery_resend, name="api_delivery_resend"),
]
