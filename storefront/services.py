"""Writes to a shop's listings. Callers run these inside the shop's tenant context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import SKU, Product, ShopListing
from catalog.services.common import rich_text_clean
from catalog.services.prices import retail_price_check
from core import shop_cache
from core.shop import current_shop, in_shop
from core.text import text_validate

from .models import Listing, ListingItem


def _current_tenant():
    if not in_shop():
        raise RuntimeError("listings live in a shop's schema: run inside tenant_context")
    return current_shop()


def _listing_text_check(*, title: str, copy: str) -> tuple[str, str]:
    """The creator's title and copy, or ValidationError: the admin's listing pages post them
    without a form, and a NUL (a 500) or a bidi override in a title must never be stored."""
    title = (title or "").strip()
    errors: list[ValidationError] = []
    try:
        title = text_validate(title)
    except ValidationError as exc:
        errors.append(ValidationError(_("Title: %(error)s") % {"error": exc.message}))
    if len(title) > 200:
        errors.append(ValidationError(_("A title is at most 200 characters.")))
    try:
        copy = text_validate(copy or "", multiline=True)
    except ValidationError as exc:
        errors.append(ValidationError(_("Copy: %(error)s") % {"error": exc.message}))
    if errors:
        raise ValidationError(errors)
    return title, copy


@transaction.atomic
def listing_create(
    *,
    product: Product,
    title: str,
    copy: str = "",
    prices: Mapping[int, Any],
) -> Listing:
    """Add a catalog product to the current shop, offering the SKUs named in PRICES.

    PRICES maps SKU id to the creator's retail price in fen; every price is checked against
    the supplier's bounds, and one bad price adds nothing.
    """
    tenant = _current_tenant()
    title, copy = _listing_text_check(title=title, copy=copy)
    product = Product.objects.select_related("supplier").get(pk=product.pk)
    if not product.is_listable:
        raise ValidationError(_("This product cannot be listed now."), code="not_listable")
    if Listing.objects.filter(product=product).exists():
        raise ValidationError(_("This product is already in your shop."), code="duplicate")
    if not prices:
        raise ValidationError(_("Choose at least one variant to sell."), code="no_sku")
    skus = {s.pk: s for s in SKU.objects.filter(product=product, is_active=True)}
    errors: list[ValidationError] = []
    clean: dict[int, int] = {}
    for sku_id, price in prices.items():
        sku = skus.get(int(sku_id))
        if sku is None:
            errors.append(ValidationError(_("A variant is not part of this product.")))
            continue
        try:
            clean[sku.pk] = retail_price_check(sku=sku, retail_price_fen=price)
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    try:
        # A savepoint: a double-click racing this one must not poison the outer transaction.
        with transaction.atomic():
            listing = Listing.objects.create(
                product=product,
                title=(title or product.title).strip()[:200],
                copy=rich_text_clean(copy),
            )
    except IntegrityError as exc:
        raise ValidationError(_("This product is already in your shop."), code="duplicate") from exc
    ListingItem.objects.bulk_create(
        ListingItem(listing=listing, sku_id=sku_id, retail_price_fen=price)
        for sku_id, price in sorted(clean.items())
    )
    # The public registry lets price-term changes find this shop (public rows never point here).
    ShopListing.objects.create(tenant_id=tenant.pk, product=product, listing_number=listing.pk)
    return listing


@transaction.atomic
def listing_update(
    *, listing: Listing, title: str, copy: str, prices: Mapping[int, Any], is_active: bool
) -> Listing:
    """Change the creator's title, copy, prices (fen, by SKU id) and whether it is on sale."""
    title, copy = _listing_text_check(title=title, copy=copy)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    items = {i.sku_id: i for i in listing.items.select_related("sku")}
    errors: list[ValidationError] = []
    clean: dict[int, int] = {}
    for sku_id, price in prices.items():
        item = items.get(int(sku_id))
        if item is None:
            errors.append(ValidationError(_("A variant is not part of this listing.")))
            continue
        try:
            clean[item.pk] = retail_price_check(sku=item.sku, retail_price_fen=price)
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    for item_pk, price in clean.items():
        # A price back inside the bounds clears the flag the price change raised.
        ListingItem.objects.filter(pk=item_pk).update(
            retail_price_fen=price, price_flagged=False, flagged_at=None
        )
    listing.title = title.strip()[:200] or listing.title
    listing.copy = rich_text_clean(copy)
    listing.is_active = is_active
    listing.save()
    return listing


def listing_items_flag_out_of_bounds(*, sku: SKU) -> int:
    """Flag this shop's items of SKU priced outside its (new) bounds; returns how many."""
    flagged = (
        ListingItem.objects.filter(sku_id=sku.pk, price_flagged=False)
        .filter(
            Q(retail_price_fen__lt=sku.min_retail_fen) | Q(retail_price_fen__gt=sku.max_retail_fen)
        )
        .update(price_flagged=True, flagged_at=timezone.now())
    )
    if flagged:
        shop_cache.bump()  # update() sends no signal; the cards must say "unavailable" now
    return flagged


def listing_items_unflag_in_bounds(*, sku: SKU) -> int:
    unflagged = (
        ListingItem.objects.filter(sku_id=sku.pk, price_flagged=True)
        .filter(retail_price_fen__gte=sku.min_retail_fen, retail_price_fen__lte=sku.max_retail_fen)
        .update(price_flagged=False, flagged_at=None)
    )
    if unflagged:
        shop_cache.bump()
    return unflagged
