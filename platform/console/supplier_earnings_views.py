"""The supplier portal's earnings page: payable pending / available, payouts.

Figures come only from the logged-in user's own Supplier (supplier_required): no supplier id is
ever read from the request.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from billing.payouts.selectors import supplier_earnings, supplier_payouts
from catalog.models import Supplier

from .supplier_views import supplier_required

PAGE_SIZE = 25


@supplier_required
def earnings(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    page = Paginator(supplier_payouts(supplier_id=supplier.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "console/supplier/earnings.html",
        {
            "supplier": supplier,
            "earnings": supplier_earnings(supplier_id=supplier.pk),
            "page": page,
        },
    )


# Included by console.supplier_urls (namespace "supplier").
urlpatterns = [path("", earnings, name="earnings")]
