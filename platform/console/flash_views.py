"""Staff console: flash sales scheduled by the platform in one shop (for the platform's own
promotions). A staff member picks the shop (from its page) and one of its listing items; the
sale is the shop's own row (for_platform=True), shown in the creator's admin like hers.

Every read and write happens inside the chosen shop's schema (tenant_context), so the form's
goods are that shop's and no other's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_tenants.utils import tenant_context

from storefront.flash.admin_views import errors_to_form
from storefront.flash.forms import FlashSaleForm
from storefront.flash.models import FlashSale
from storefront.flash.selectors import flash_report
from storefront.flash.services import flash_sale_schedule
from tenants import selectors

staff: Callable[[Callable[..., Any]], Callable[..., Any]] = staff_member_required(login_url="login")


@staff
@require_http_methods(["GET", "POST"])
def shop_flash(request: HttpRequest, pk: int) -> HttpResponse:
    """The shop's flash sales and a form to schedule one on the platform's behalf."""
    shop = get_object_or_404(selectors.shops(), pk=pk)
    with tenant_context(shop):
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
                    for_platform=True,
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request,
                    _("Flash sale scheduled in %(shop)s: %(n)s units taken from the stock.")
                    % {"shop": shop.name, "n": sale.quantity},
                )
                return redirect("console:shop-flash", pk=shop.pk)
        sales = list(
            FlashSale.objects.select_related("item__listing").order_by("-starts_at", "-id")[:50]
        )
        rows = [(sale, flash_report(sale=sale)) for sale in sales]
        return render(
            request,
            "console/shops/flash.html",
            {"shop": shop, "form": form, "rows": rows},
            status=400 if form.errors else 200,
        )


urlpatterns = [path("shops/<int:pk>/flash/", shop_flash, name="shop-flash")]
