"""A checkout granted by a campaign, and the hooks a campaign kind gives orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class CampaignClaim:
    """What a campaign grants one checkout: QUANTITY units of ITEM_ID at UNIT_PRICE_FEN.

    The units are the campaign's: they left the SKU's shared stock when the campaign started,
    so the order does not reserve them again. REF is the kind's own reference (a grab, a
    group, a fan's lock) that its hooks use. PAY_DEADLINE, when set, replaces the shop's usual
    pay window (a flash sale's grab must be paid within its own minutes).
    """

    kind: str  # "flash" | "group" | "drop"
    campaign_id: int
    item_id: int
    quantity: int
    unit_price_fen: int
    ref: str = ""
    pay_deadline: datetime | None = None

    @property
    def source(self) -> str:
        """What OrderLine.campaign and PricedLine.campaign record, e.g. "flash:12"."""
        return f"{self.kind}:{self.campaign_id}"


class CampaignKind(Protocol):
    """The hooks of one campaign kind. ORDER and LINE are storefront Order / OrderLine rows
    (typed loosely: this package sits below orders)."""

    kind: str

    def claim_from_ticket(self, *, ticket: str, fan: Any | None) -> CampaignClaim:
        """The claim a checkout link's TICKET grants (to FAN when signed in); a ticket that is
        forged, expired, used or not hers raises django's ValidationError with a message for
        the buyer."""
        ...

    def order_attach(self, *, order: Any, claim: CampaignClaim) -> None:
        """Inside order_place's transaction, after the order's lines are written: bind CLAIM to
        ORDER (take the unit from the campaign's quota, mark the grab ordered …). Raising a
        ValidationError rolls the whole order back."""
        ...

    def order_released(self, *, order: Any, line: Any) -> None:
        """ORDER was not paid (expired or cancelled): LINE's units go back to the campaign (or
        to the SKU when the campaign has ended). Inside the closing transaction; idempotent."""
        ...

    def order_paid(self, *, order: Any, line: Any) -> None:
        """ORDER was paid (inside order_mark_paid's transaction): count it for the campaign."""
        ...

    def listing_strip(self, *, listing_id: int) -> str:
        """Safe HTML for the product page and the article card of LISTING_ID: this kind's
        campaign on it now or announced (a badge and a link to the campaign's page), "" when
        none. Pages that show it are cached: live figures come from the kind's own small
        endpoint, and the kind bumps the shop's page cache when a campaign starts or ends."""
        ...

    def live_listing_ids(self) -> frozenset[int]:
        """The listings with a campaign of this kind announced or running now (one query): a
        page of cards asks each kind once, then only those listings' strips are rendered."""
        ...

    def live_price_fen(self, *, listing_id: int) -> int | None:
        """What one unit of LISTING_ID costs now through this kind's campaign running on it
        (the lowest, if several), None when none is running: share posters print it."""
        ...

    def holds_fulfilment(self, *, order: Any) -> bool:
        """True when ORDER's supplier orders must wait (a group buy ships only once it has
        succeeded); the kind then calls orders' `order_fulfil` itself."""
        ...


def campaign_source_parse(source: str) -> tuple[str, int] | None:
    """("flash", 12) for "flash:12"; None for "" or anything else."""
    kind, _sep, ident = source.partition(":")
    if not kind or not ident.isdigit():
        return None
    return kind, int(ident)
