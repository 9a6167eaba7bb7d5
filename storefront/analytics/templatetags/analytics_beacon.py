"""{% analytics_beacon %}: the tiny script a shop page carries to report its view, card
impressions and card taps (beacon.html). Placed in cms/shop_base.html, so it is part of the
cached copy of every page and counting never touches the page cache's hit path."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("storefront/analytics/beacon.html", takes_context=True)
def analytics_beacon(context: template.Context) -> dict[str, Any]:
    # An editor's preview is not a reader's view.
    previewing = getattr(context.get("request"), "is_preview", False)
    if previewing or not getattr(settings, "VSTORE_ANALYTICS_BEACON", True):
        return {"off": True}
    page = context.get("page")
    listing = context.get("listing")
    view, listing_id = "", 0
    # No query: the page in a page's context is already its specific class.
    if listing is not None and getattr(listing, "pk", None):
        view, listing_id = "product_view", int(listing.pk)
    elif page is not None and page._meta.model_name == "articlepage":
        view = "article_view"
    return {"page_id": getattr(page, "pk", 0) or 0, "view": view, "listing_id": listing_id}
