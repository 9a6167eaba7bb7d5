"""Reads of a shop's listings. Run inside the shop's tenant context."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.module_loading import import_string

from .models import Listing, ListingItem


def shop_listings() -> QuerySet[Listing]:
    """The current shop's listings with their items and the live catalog rows behind them."""
    items = ListingItem.objects.select_related("sku__product__supplier").order_by("id")
    return (
        Listing.objects.select_related("product__supplier")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-created_at", "-id")
    )


def listed_product_ids() -> set[int]:
    return set(Listing.objects.values_list("product_id", flat=True))


def flagged_item_count() -> int:
    return ListingItem.objects.filter(price_flagged=True).count()


def listing_url(listing_id: int) -> str:
    """The listing's product page, as the content site above storefront (cms) routes it under
    the shop page (VSTORE_PRODUCT_URL_FUNCTION); the home page when the shop page is gone."""
    return import_string(settings.VSTORE_PRODUCT_URL_FUNCTION)(listing_id) or "/"
