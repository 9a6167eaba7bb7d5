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

Coupons (step 3). An order takes at most one creator coupon and one platform coupon; the
creator's is applied first, the platform's to what is left. A coupon is an amount off the
order (its in-scope lines), and that amount is allocated to the lines so each line stores what
came off it and who funds it (a return then reverses exactly):

* the amount is shared in proportion to each in-scope line's total before this coupon, each
  share rounded down to the fen; the fen left over go one each to the lines with the largest
  remainders (ties: the earlier line, in item-id order), so the shares sum exactly to the amount;
* no line takes more than its cap: for a creator coupon the creator's commission on that line
  (`billing.ledger.creator_discount_cap_fen`, so she never funds more than she earns on it),
  for a platform coupon what is left of the line. A line that would pass its cap gets exactly
  its cap and the rest is shared again over the other lines by the same rule. The coupon's
  amount is at most the sum of the caps: a 100% coupon ends at her commission;
* a line at a campaign price takes no creator coupon unless the coupon allows it
  (allow_with_campaign), and a creator coupon's minimum spend (满 X) counts only the lines it
  may apply to;
* the buyer pays at least one fen of goods: no payment provider takes ¥0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from billing.ledger import CaptureLine, creator_discount_cap_fen
from core.discounts import coupon_off_fen

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

    def coupon_fen(self, funder: Funder) -> int:
        """What FUNDER's coupons took off this line (the OrderLine's *_discount_fen)."""
        return sum(d.amount_fen for d in self.discounts if d.funded_by is funder)

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

    @property
    def list_goods_fen(self) -> int:
        """The goods before coupons (after the campaign step)."""
        return sum(line.gross_fen for line in self.lines)

    def line(self, item_id: int) -> PricedLine:
        for priced in self.lines:
            if priced.item_id == item_id:
                return priced
        raise KeyError(item_id)

    def discount_fen(self, *, source: str | None = None, funder: Funder | None = None) -> int:
        """Coupon discounts over all lines: of SOURCE, of FUNDER, or all of them."""
        return sum(
            d.amount_fen
            for line in self.lines
            for d in line.discounts
            if (source is None or d.source == source) and (funder is None or d.funded_by is funder)
        )


@dataclass(frozen=True)
class CouponTerms:
    """A coupon as pricing needs it (storefront.coupons and billing.coupons build these).

    KIND "fixed" and "threshold" take AMOUNT_FEN off; "percent" takes PERCENT_OFF percent of the
    in-scope lines, at most MAX_OFF_FEN. MIN_GOODS_FEN: the in-scope lines must reach it.
    LISTING_IDS: the listings it applies to; None: the whole shop.
    """

    source: str  # e.g. "coupon:<code>" (creator) or "platform:<code>"
    funded_by: Funder
    kind: str
    amount_fen: int = 0
    percent_off: int = 0
    max_off_fen: int | None = None
    min_goods_fen: int = 0
    listing_ids: frozenset[int] | None = None
    allow_with_campaign: bool = False


class PricingError(ValueError):
    """A step produced an impossible price: a bug in a step, never the buyer's doing."""


@dataclass(frozen=True)
class CampaignPrice:
    """A campaign's unit price for one item (step 2): SOURCE is e.g. "flash:12"."""

    source: str
    unit_price_fen: int


def _line_price(item: ListingItem, quantity: int, campaign: CampaignPrice | None) -> PricedLine:
    if quantity < 1:
        raise PricingError(f"item {item.pk}: quantity {quantity}")
    list_price = item.retail_price_fen
    line = PricedLine(
        item_id=item.pk,
        quantity=quantity,
        list_price_fen=list_price,
        unit_price_fen=list_price if campaign is None else campaign.unit_price_fen,
        campaign="" if campaign is None else campaign.source,
    )
    if campaign is not None and not (
        item.sku.min_retail_fen <= campaign.unit_price_fen <= item.sku.max_retail_fen
    ):  # the campaign's own form refuses this; pricing never lets it through either
        raise PricingError(f"item {item.pk}: campaign price outside the supplier's bounds")
    if not 0 <= line.unit_price_fen <= line.list_price_fen or line.total_fen < 0:
        raise PricingError(f"item {item.pk}: priced {line}")
    return line


def lines_price(
    *,
    items: Mapping[int, ListingItem],
    quantities: Mapping[int, int],
    coupons: Sequence[CouponTerms] = (),
    campaigns: Mapping[int, CampaignPrice] | None = None,
) -> PricedCart:
    """Price each (item id → quantity) of QUANTITIES; ITEMS are the loaded listing items, by id
    (with sku__product). COUPONS: at most one creator and one platform coupon, applied by the
    rules in this module's docstring; one that does not apply (minimum not reached, nothing in
    scope) adds no discount, which the caller sees in `PricedCart.discount_fen(source=…)`.

    CAMPAIGNS: item id → the campaign price that replaces its list price (step 2); it is at
    or below the list price and inside the supplier's bounds, or PricingError.

    Lines come out in item-id order (the order an order's lines are written in).
    """
    campaigns = campaigns or {}
    lines = tuple(
        _line_price(items[i], quantities[i], campaigns.get(i)) for i in sorted(quantities)
    )
    if coupons:
        caps: list[int] = []
        if any(c.funded_by is Funder.CREATOR for c in coupons):
            caps = creator_discount_cap_fen(
                [
                    CaptureLine(
                        supplier_id=items[ln.item_id].sku.product.supplier_id,
                        quantity=ln.quantity,
                        supply_price_fen=items[ln.item_id].sku.supply_price_fen,
                        retail_price_fen=ln.unit_price_fen,
                    )
                    for ln in lines
                ]
            )
        lines = coupons_apply(
            lines=lines,
            coupons=coupons,
            listing_of={i: items[i].listing_id for i in quantities},
            creator_caps=caps,
        )
    return PricedCart(lines=lines)


def coupon_nominal_fen(terms: CouponTerms, in_scope_fen: int) -> int:
    """What TERMS would take off IN_SCOPE_FEN of goods before any cap; 0 below its minimum."""
    return coupon_off_fen(
        kind=terms.kind,
        goods_fen=in_scope_fen,
        amount_fen=terms.amount_fen,
        percent_off=terms.percent_off,
        max_off_fen=terms.max_off_fen,
        min_goods_fen=terms.min_goods_fen,
    )


def coupons_apply(
    *,
    lines: Sequence[PricedLine],
    coupons: Sequence[CouponTerms],
    listing_of: Mapping[int, int],
    creator_caps: Sequence[int],
) -> tuple[PricedLine, ...]:
    """LINES with the COUPONS' discounts added (the rules of this module's docstring).

    LISTING_OF: item id → its listing id. CREATOR_CAPS: per line, the most a creator coupon may
    take off it (her commission on it); needed only when a creator coupon is among COUPONS.
    """
    funders = [c.funded_by for c in coupons]
    if len(set(funders)) != len(funders):
        raise PricingError(f"at most one coupon per funder: {coupons}")
    out = list(lines)
    for terms in sorted(coupons, key=lambda c: c.funded_by is not Funder.CREATOR):
        creator = terms.funded_by is Funder.CREATOR
        in_scope = [
            i
            for i, ln in enumerate(out)
            if (terms.listing_ids is None or listing_of[ln.item_id] in terms.listing_ids)
            and (not creator or not ln.campaign or terms.allow_with_campaign)
        ]
        weights = [out[i].total_fen for i in in_scope]
        caps = [
            min(creator_caps[i], out[i].total_fen) if creator else out[i].total_fen
            for i in in_scope
        ]
        amount = coupon_nominal_fen(terms, sum(weights))
        # The buyer pays at least one fen of goods (a ¥0 payment is no payment).
        amount = min(amount, sum(ln.total_fen for ln in out) - 1)
        shares = allocate_fen(amount=max(amount, 0), weights=weights, caps=caps)
        for i, share in zip(in_scope, shares, strict=True):
            if share:
                discount = Discount(terms.source, share, terms.funded_by)
                out[i] = replace(out[i], discounts=(*out[i].discounts, discount))
    for ln in out:
        if ln.total_fen < 0 or any(d.amount_fen < 0 for d in ln.discounts):
            raise PricingError(f"item {ln.item_id}: priced {ln}")
    return tuple(out)


def allocate_fen(*, amount: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Share AMOUNT over lines in proportion to WEIGHTS, none above its cap; exact to the fen.

    Proportional shares rounded down, the fen left one each to the largest remainders (ties:
    the earlier line); a line past its cap is held at it and the rest shared again among the
    others. Returns at most sum(CAPS) in all (lines with weight 0 take nothing).
    """
    shares = [0] * len(weights)
    open_ = [i for i, (w, c) in enumerate(zip(weights, caps, strict=True)) if w > 0 and c > 0]
    left = min(amount, sum(caps[i] for i in open_))
    while left > 0 and open_:
        total = sum(weights[i] for i in open_)
        part = {i: left * weights[i] // total for i in open_}
        rest = left - sum(part.values())
        for i in sorted(open_, key=lambda i: (-(left * weights[i] % total), i))[:rest]:
            part[i] += 1
        over = [i for i in open_ if shares[i] + part[i] > caps[i]]
        if not over:
            for i in open_:
                shares[i] += part[i]
            break
        for i in over:  # held at its cap; the others share what is left next round
            left -= caps[i] - shares[i]
            shares[i] = caps[i]
        open_ = [i for i in open_ if i not in over]
    return shares
