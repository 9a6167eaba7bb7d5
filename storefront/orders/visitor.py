"""Which orders this visitor may see: the ones she placed or looked up in this session."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from storefront.models import Order

from .selectors import order_get

SESSION_ORDERS = "storefront_orders"
# The article (Wagtail page id) this visitor last came from through a product card; checkout
# records it on the order (storefront/analytics sets it when a card is tapped).
SESSION_SOURCE_PAGE = "storefront_source_page"


def orders_allow(request: HttpRequest, number: str) -> None:
    numbers = [n for n in request.session.get(SESSION_ORDERS, []) if n != number]
    request.session[SESSION_ORDERS] = [number, *numbers][:20]


def order_for_visitor(request: HttpRequest, number: str) -> Order:
    """The order, if this visitor placed it or looked it up; otherwise a 404 (no hint)."""
    if number not in request.session.get(SESSION_ORDERS, []):
        raise Http404
    order = order_get(number=number)
    if order is None:
        raise Http404
    return order
