"""Shop template tags: a listing's reviews (product page); an order's state (my orders)."""

from __future__ import annotations

from django import template

from core.shop_cache import cached
from storefront.orders.selectors import order_progress
from storefront.reviews.selectors import listing_rating, listing_reviews

register = template.Library()


@register.inclusion_tag("storefront/reviews/reviews_block.html")
def listing_reviews_block(listing) -> dict:
    """This shop's visible reviews of LISTING with their average (a fixed 3 queries), kept in
    the shop data cache: a review written, hidden or shown starts a new generation."""
    return cached(
        f"reviews:{listing.pk}",
        lambda: {
            "rating": listing_rating(listing_id=listing.pk),
            "reviews": listing_reviews(listing_id=listing.pk),
        },
    )


@register.simple_tag
def order_state_label(order) -> str:
    """The order's state as its own page shows it (shipped, refunded…), not the stored status."""
    return order_progress(order=order).label
