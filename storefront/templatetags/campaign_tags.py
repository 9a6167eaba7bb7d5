"""{% listing_campaigns listing %}: the campaigns running on a listing (product page, cards)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template import Context
from django.utils.safestring import SafeString, mark_safe

from storefront.campaigns.registry import campaign_strips

register = template.Library()


@register.simple_tag(takes_context=True)
def listing_campaigns(context: Context, listing: Any) -> SafeString:
    """The strips of every campaign kind for LISTING (a Listing or its id); each kind renders
    its own escaped HTML (storefront.campaigns.claims.CampaignKind.listing_strip). Which
    listings have a campaign is read once per kind and request, however many cards a page has."""
    listing_id = getattr(listing, "pk", listing)
    if not isinstance(listing_id, int):
        return mark_safe("")
    request = context.get("request")
    memo = getattr(request, "_campaign_listing_ids", None) if request is not None else None
    if memo is None:
        memo = {}
        if request is not None:
            request._campaign_listing_ids = memo
    return mark_safe(campaign_strips(listing_id=listing_id, memo=memo))  # noqa: S308 - kinds escape
