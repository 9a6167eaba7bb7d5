"""Rules every campaign kind checks the same way (DESIGN.md, "Social-commerce campaigns")."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.services.stock import sku_stock_release, sku_stock_reserve
from core.money import yuan


def campaign_price_check(*, item: Any, price_fen: int) -> None:
    """A campaign price of ITEM (a ListingItem with its sku) must stay inside the supplier's
    bounds, so the supply price is always covered, and at or below the shop's list price
    (a campaign lowers a price, never raises it). ValidationError otherwise."""
    sku = item.sku
    if not sku.min_retail_fen <= price_fen <= sku.max_retail_fen:
        raise ValidationError(
            _("The price must be between %(low)s and %(high)s (the supplier's bounds).")
            % {"low": yuan(sku.min_retail_fen), "high": yuan(sku.max_retail_fen)},
            code="campaign_price_bounds",
        )
    if price_fen > item.retail_price_fen:
        raise ValidationError(
            _("The campaign price may not be above the shop's price %(price)s.")
            % {"price": yuan(item.retail_price_fen)},
            code="campaign_price_above_list",
        )


def campaign_stock_take(*, sku_id: int, quantity: int) -> bool:
    """Take a campaign's QUANTITY out of the SKU's shared stock: one checked update, so other
    shops and normal orders never oversell; False when the stock is not there (nothing taken)."""
    return sku_stock_reserve(sku_id=sku_id, quantity=quantity)


def campaign_stock_return(*, sku_id: int, quantity: int) -> None:
    """Give a campaign's unsold units back to the SKU's shared stock (at its end)."""
    if quantity > 0:
        sku_stock_release(sku_id=sku_id, quantity=quantity)
