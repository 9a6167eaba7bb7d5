"""The shop's navigation (home, cart with its count, 我的, find an order), on every page of
a shop: Wagtail's pages (cms/shop_base.html) and the buyer's pages (storefront/base.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from cms.selectors import cart_item_count

register = template.Library()


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page rendered outside a shop's URLconf (e.g. an admin preview)
        return ""


@register.inclusion_tag("cms/shop_nav.html", takes_context=True)
def shop_nav(context: template.Context, current: str = "") -> dict[str, Any]:
    request = context.get("request")
    from storefront.orders.cart import COOKIE

    # Only a visitor with a cart cookie has a count to show (and such visitors never get a
    # page from the anonymous page cache, cms/page_cache.py: the count is always theirs).
    token = request.COOKIES.get(COOKIE) if request is not None else None
    path = request.path if request is not None else ""
    links = {
        "home": "/",
        "cart": _url("storefront:cart"),
        "account": _url("storefront:account"),  # 我的: her orders, coupons, sign-in
        "lookup": _url("storefront:order_lookup"),
    }
    if not current:
        current = next(
            (key for key, url in links.items() if url and url != "/" and path.startswith(url)),
            "home" if path == "/" else "",
        )
    return {
        "links": links,
        "current": current,
        "cart_count": cart_item_count(token) if token and links["cart"] else 0,
    }
