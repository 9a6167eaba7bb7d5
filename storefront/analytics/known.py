"""Which page and listing ids a beacon may name: this shop's live pages and its listings.

Checked so that forged beacons cannot fill DailyCount with rows for made-up ids. Each answer
is kept in the cache (keys carry the shop's schema) for a few minutes, so a beacon costs one
cache round trip and a database query only for an id not seen lately.
"""

from __future__ import annotations

from django.core.cache import cache
from wagtail.models import Page

from storefront.models import Listing

KNOWN_SECONDS = 300


def ids_known(*, page_ids: set[int], listing_ids: set[int]) -> tuple[set[int], set[int]]:
    """(the live pages among PAGE_IDS, the listings among LISTING_IDS) of the current shop."""
    keys = {f"analytics:page:{i}": ("page", i) for i in page_ids}
    keys |= {f"analytics:listing:{i}": ("listing", i) for i in listing_ids}
    if not keys:
        return set(), set()
    cached = cache.get_many(list(keys))
    pages = {i for k, (kind, i) in keys.items() if kind == "page" and cached.get(k)}
    listings = {i for k, (kind, i) in keys.items() if kind == "listing" and cached.get(k)}
    missing_pages = {i for k, (kind, i) in keys.items() if kind == "page" and k not in cached}
    missing_listings = {i for k, (kind, i) in keys.items() if kind == "listing" and k not in cached}
    found: dict[str, bool] = {}
    if missing_pages:
        live_pages = Page.objects.filter(pk__in=missing_pages, live=True)
        live = set(live_pages.values_list("pk", flat=True))
        pages |= live
        found |= {f"analytics:page:{i}": i in live for i in missing_pages}
    if missing_listings:
        known = set(Listing.objects.filter(pk__in=missing_listings).values_list("pk", flat=True))
        listings |= known
        found |= {f"analytics:listing:{i}": i in known for i in missing_listings}
    if found:
        cache.set_many(found, KNOWN_SECONDS)
    return pages, listings


def article_known(page_id: int) -> bool:
    """PAGE_ID is a live article of the current shop (cms.ArticlePage, named by its content
    type so this layer does not import cms): a card tap there names the order's article."""
    key = f"analytics:article:{page_id}"
    known = cache.get(key)
    if known is None:
        known = Page.objects.filter(
            pk=page_id,
            live=True,
            content_type__app_label="cms",
            content_type__model="articlepage",
        ).exists()
        cache.set(key, known, KNOWN_SECONDS)
    return bool(known)
