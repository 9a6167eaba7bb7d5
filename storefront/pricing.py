"""The one place that prices a line of a cart or an order (DESIGN.md, "Pricing, one seam").

A line is priced in three steps, each amount with who funds it:

1. list price: the creator's retail price of the listing item (inside the supplier's bounds);
2. campaign price: a flash sale, group buy or share price drop replaces the unit price
   (campaign prices stay inside the supplier's bounds too, so the supply price is covered);
3. coupon discounts: amounts off the line, each funded by the creator (out of her commission
   on the line) or the platform (a marketing expense).

The cart page, the checkout page, `order_quote`, `order_place` and the API call `lines_price`;
nothing else computes a price. The order keeps what it returned per line (OrderLine), and the
ledger's capture split reads those lines, so the money flow stays one path whatever priced it.
Campaigns and coupons add their step here (the issues that build them), nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ListingItem


class Funder(StrEnum):
    """Who pays for a price below the list price (the supplier never does)."""

    CREATOR = "creator"
    PLATFORM = "platform"


@dataclass(frozen=True)
class Discount:
    """An amount off a whole line (all its units), and who funds it."""

    source: str  # what gave it, e.g. "coupon:<code>"
    amount_fen: int
    funded_by: Funder


@dataclass(frozen=True)
class PricedLine:
    item_id: int
    quantity: int
    list_price_fen: int  # per unit: the creator's retail price
    unit_price_fen: int  # per unit: after the campaign step (the list price without one)
    campaign: str = ""  # what set unit_price_fen below the list price, e.g. "flash:<id>"
    discounts: tuple[Discount, ...] = field(default=())

    @property
    def gross_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def discount_fen(self) -> int:
        return sum(d.amount_fen for d in self.discounts)

    @property
    def total_fen(self) -> int:
        return self.gross_fen - self.discount_fen

    def funded_by(self, funder: Funder) -> int:
        """What FUNDER pays of this line, against the list price (campaign and coupons)."""
        below_list = (self.list_price_fen - self.unit_price_fen) * self.quantity
        campaign = below_list if funder is Funder.CREATOR else 0
        return campaign + sum(d.amount_fen for d in self.discounts if d.funded_by is funder)


@dataclass(frozen=True)
class PricedCart:
    lines: tuple[PricedLine, ...]

    @property
    def goods_fen(self) -> int:
        return sum(line.total_fen for line in self.lines)

    def line(self, item_id: int) -> PricedLine:
        for priced in self.lines:
            if priced.item_id == item_id:
                return priced
        raise KeyError(item_id)


class PricingError(ValueError):
    """A step produced an impossible price: a bug in a step, never the buyer's doing."""


def _line_price(item: ListingItem, quantity: int) -> PricedLine:
    if quantity < 1:
        raise PricingError(f"item {item.pk}: quantity {quantity}")
    list_price = item.retail_price_fen
    line = PricedLine(
        item_id=item.pk,
        quantity=quantity,
        list_price_fen=list_price,
        unit_price_fen=list_price,
    )
    if not 0 <= line.unit_price_fen <= line.list_price_fen or line.total_fen < 0:
        raise PricingError(f"item {item.pk}: priced {line}")
    return line


def lines_price(*, items: Mapping[int, ListingItem], quantities: Mapping[int, int]) -> PricedCart:
    """Price each (item id → quantity) of QUANTITIES; ITEMS are the loaded listing items, by id.

    Lines come out in item-id order (the order an order's lines are written in).
    """
    return PricedCart(lines=tuple(_line_price(items[i], quantities[i]) for i in sorted(quantities)))
