"""The creator's orders in her shop's Wagtail admin.

Orders carry buyers' mobile numbers and addresses: only roles with storefront.view_orders see
them (owner, customer service); hiding reviews needs storefront.manage_reviews. Supply prices
on the order page are money (storefront.view_money): customer service does not see them.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from core.shop import current_shop
from storefront.models import Order
from storefront.team.access import perm_required
from storefront.team.roles import VIEW_MONEY, VIEW_ORDERS

from .selectors import order_get, order_page_context, orders_for_admin

PAGE_SIZE = 30


@perm_required(VIEW_ORDERS)
def orders_index(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Order.Status.values:
        status = ""
    query = request.GET.get("q", "").strip()[:60]
    page = Paginator(orders_for_admin(status=status, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return TemplateResponse(
        request,
        "storefront/admin/orders_index.html",
        {
            "page_title": _("Orders"),
            "header_icon": "list-ul",
            "page": page,
            "status": status,
            "query": query,
            "statuses": Order.Status.choices,
        },
    )


@perm_required(VIEW_ORDERS)
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = order_get(number=number)
    if order is None:
        raise Http404
    context = order_page_context(order=order)
    context.update(
        {
            "page_title": _("Order %(number)s") % {"number": order.number},
            "header_icon": "list-ul",
            "tenant": current_shop(),
            "show_money": request.user.has_perm(VIEW_MONEY),
        }
    )
    return TemplateResponse(request, "storefront/admin/order_detail.html", context)
