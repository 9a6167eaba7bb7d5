"""Share links: a buyer's personal link to what she bought (single level, coupons only)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from .models import Order, ShareLink


def share_links_ensure(*, order: Order) -> list[ShareLink]:
    """One link per listing in ORDER for its buyer, made once and reused afterwards."""
    links = []
    for listing_id in sorted({line.listing_id for line in order.lines.all()}):
        link = ShareLink.objects.filter(listing_id=listing_id, sharer_id=order.fan_id).first()
        if link is None:
            try:
                with transaction.atomic():
                    link = ShareLink.objects.create(
                        code=secrets.token_urlsafe(9), listing_id=listing_id, sharer_id=order.fan_id
                    )
            except IntegrityError:  # made by a concurrent request
                link = ShareLink.objects.get(listing_id=listing_id, sharer_id=order.fan_id)
        links.append(link)
    return links
