"""The creator's earnings in her shop's Wagtail admin (tenant schema, public billing tables).

The figures are read for the tenant of the schema this request runs in (core.shop's current
shop, set by the tenant middleware from the host), never for an id taken from the request:
shop A's creator cannot reach shop B's figures by any URL.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from billing.ledger_selectors import coupon_costs
from core.shop import current_shop_id

from .selectors import creator_earnings, creator_payouts

PAGE_SIZE = 20


def earnings(request: HttpRequest) -> HttpResponse:
    # Money is the owner's business (the shop roles grant storefront.view_money; billing names
    # it by string, being below storefront): editors and customer service do not see it.
    if not request.user.has_perm("storefront.view_money"):
        raise PermissionDenied
    tenant_id = current_shop_id()
    page = Paginator(creator_payouts(tenant_id=tenant_id), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return TemplateResponse(
        request,
        "payouts/admin/earnings.html",
        {
            "page_title": _("Earnings"),
            "header_icon": "doc-full",
            "earnings": creator_earnings(tenant_id=tenant_id),
            "coupons": coupon_costs(tenant_id=tenant_id),
            "page": page,
        },
    )
