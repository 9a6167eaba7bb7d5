"""The share card of a page, from what the page's template already has (no query on Wagtail
pages: they are served from the page cache to every visitor, so nothing here is per fan)."""

from __future__ import annotations

from typing import Any

from django.template import Context
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.text import Truncator

# The pages worth a share card: Wagtail's (articles, the shop and product pages) and the
# campaign pages. Carts, checkout and order pages get none (WeChat's default card).
SHAREABLE_VIEWS = frozenset(
    {"wagtail_serve", "flash_sale", "groupbuy", "groupbuy_team", "pricedrop"}
)
DESCRIPTION_CHARS = 60


def _absolute(request: Any, url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return request.build_absolute_uri(url)


def listing_image_url(listing: Any) -> str:
    """The listing's first shown product photo (as its card shows it), "" when none."""
    images = getattr(listing.product, "shown_images", None)
    if images is not None:
        image = images[0] if images else None
    else:
        image = listing.product.images.filter(is_hidden=False).order_by("position", "id").first()
    return image.file.url if image is not None else ""


def _excerpt(html: str) -> str:
    return Truncator(" ".join(strip_tags(html or "").split())).chars(DESCRIPTION_CHARS)


def share_data(
    context: Context,
    *,
    title: str = "",
    description: str = "",
    image: str = "",
    link: str = "",
    listing: Any = None,
) -> dict[str, Any] | None:
    """TITLE, DESCRIPTION, IMAGE and LINK as the template gives them, the rest from the page's
    context (a Wagtail page, a campaign and its listing); None for a page not worth sharing."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if request is None or getattr(match, "url_name", None) not in SHAREABLE_VIEWS:
        return None
    seo = context.get("seo")
    page = context.get("page")
    campaign = context.get("sale") or context.get("campaign")
    listing = listing or None  # a template's missing variable arrives as ""
    # Her own share link leads to the product page: asked for only where that is the page.
    listing_id = getattr(listing, "pk", listing)
    if listing is None and page is None:
        item = getattr(campaign, "item", None)
        listing = context.get("listing") or getattr(item, "listing", None)
    listing_obj = listing if hasattr(listing, "product") else None
    title = (
        title
        or getattr(seo, "title", "")
        or getattr(campaign, "display_title", "")
        or getattr(campaign, "title", "")
        or getattr(page, "seo_title", "")
        or getattr(page, "title", "")
        or getattr(listing_obj, "title", "")
    )
    if not title:
        return None
    description = (
        description
        or getattr(seo, "description", "")
        or getattr(page, "search_description", "")
        or (_excerpt(listing_obj.copy) or listing_obj.title if listing_obj is not None else "")
    )
    image = image or getattr(seo, "image", "")
    if not image and listing_obj is not None:
        image = listing_image_url(listing_obj)
    data: dict[str, Any] = {
        "title": str(title),
        "desc": str(description),
        "imgUrl": _absolute(request, str(image or "")),
        "link": str(link or getattr(seo, "url", "") or request.build_absolute_uri(request.path)),
        "configUrl": reverse("storefront:wx_jsconfig"),
    }
    if isinstance(listing_id, int):
        # Her own share link of this listing (if she has one) comes from the config endpoint.
        data["listing"] = listing_id
    return data
