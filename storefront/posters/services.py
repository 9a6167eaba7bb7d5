"""A listing's poster for one share link: drawn once, then read from the shop's media.

The stored name is posters/<listing>/<hash of every input>.png under the shop's schema prefix
(config.storage puts it there for every upload; the name is built with it so that `exists`
looks in the same place). Same title, price, photo, link, shop name and language: the same
file, never drawn again; any change makes a new name (old ones are simply no longer asked for).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import get_language

from core.shop import current_schema
from storefront.campaigns.registry import campaign_price_now

from . import render

# Bump when the drawing changes: every poster is drawn again with the new layout.
LAYOUT_VERSION = 1


def poster_name(*, listing_id: int, inputs: list[Any]) -> str:
    """The stored name (with the shop's schema prefix) of the poster drawn from INPUTS."""
    digest = hashlib.sha256(json.dumps(inputs, ensure_ascii=False).encode()).hexdigest()[:40]
    return f"{current_schema()}/posters/{listing_id}/{digest}.png"


def poster_png(*, listing: Any, share_url: str, creator_name: str) -> tuple[str, bytes]:
    """LISTING's poster for SHARE_URL as (stored name, PNG bytes); drawn only when not stored."""
    campaign_price = campaign_price_now(listing_id=listing.pk)
    price = campaign_price if campaign_price is not None else render.listing_price_fen(listing)
    image = render.main_image(listing)
    inputs = [
        LAYOUT_VERSION,
        listing.pk,
        listing.title,
        price,
        campaign_price is not None,
        image.file.name if image is not None else "",
        share_url,
        creator_name,
        get_language() or "",
    ]
    name = poster_name(listing_id=listing.pk, inputs=inputs)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as stored:
            return name, stored.read()
    png = render.poster_render(
        listing,
        share_url,
        creator_name,
        price_fen=price,
        campaign=campaign_price is not None,
        image=image,
    )
    # Two first requests at once both draw it; the second file gets a suffixed name, harmless.
    return default_storage.save(name, ContentFile(png)), png
