"""Share links: a buyer's personal link to what she bought (single level, coupons only)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import F

from storefront.models import Order, ShareLink

# The session key that remembers the share link a visitor came through, for her checkout.
SESSION_SHARE = "storefront_share"

# Letters and digits only: a share code travels through chat apps that cut links at "-" or "_".
_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def share_code_new() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


def share_links_ensure(*, order: Order) -> list[ShareLink]:
    """One link per listing in ORDER for its buyer, made once and reused afterwards."""
    links = []
    for listing_id in sorted({line.listing_id for line in order.lines.all()}):
        link = ShareLink.objects.filter(listing_id=listing_id, sharer_id=order.fan_id).first()
        if link is None:
            try:
                with transaction.atomic():
                    link = ShareLink.objects.create(
                        code=share_code_new(), listing_id=listing_id, sharer_id=order.fan_id
                    )
            except IntegrityError:  # made by a concurrent request
                link = ShareLink.objects.get(listing_id=listing_id, sharer_id=order.fan_id)
        links.append(link)
    return links


def share_visit(*, code: str, counted: bool) -> ShareLink | None:
    """The share link with CODE; its visit count goes up unless this visit was COUNTED already."""
    share = ShareLink.objects.filter(code=code).first()
    if share is not None and not counted:
        ShareLink.objects.filter(pk=share.pk).update(visits=F("visits") + 1)
    return share
