"""Reads of a shop's reviews: a listing's rating and reviews, the creator's review list."""

from __future__ import annotations

from django.db.models import Avg, Count, QuerySet

from storefront.models import Review


def listing_rating(*, listing_id: int) -> dict:
    """This shop's visible reviews of a listing: {"average": 4.5 | None, "count": n}."""
    row = Review.objects.filter(listing_id=listing_id, is_hidden=False).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = round(row["average"], 1) if row["average"] is not None else None
    return {"average": average, "count": row["count"]}


def listing_reviews(*, listing_id: int, limit: int = 10) -> list[Review]:
    return list(
        Review.objects.filter(listing_id=listing_id, is_hidden=False)
        .select_related("fan")
        .prefetch_related("photos")[:limit]
    )


def reviews_for_admin(*, hidden_only: bool = False) -> QuerySet[Review]:
    reviews = Review.objects.select_related("fan", "listing").prefetch_related("photos")
    return reviews.filter(is_hidden=True) if hidden_only else reviews
