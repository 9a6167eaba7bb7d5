"""The campaign kinds, registered by their apps' AppConfig.ready()."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core import shop_cache

from .claims import CampaignClaim, CampaignKind, campaign_source_parse

_KINDS: dict[str, CampaignKind] = {}


def campaign_kind_register(kind: CampaignKind) -> None:
    _KINDS[kind.kind] = kind


def campaign_kind(source_or_kind: str) -> CampaignKind | None:
    """The kind of a line's campaign source ("flash:12") or of a kind name ("flash")."""
    parsed = campaign_source_parse(source_or_kind)
    name = parsed[0] if parsed else source_or_kind
    return _KINDS.get(name)


def campaign_claim_from_ticket(*, ticket: str, fan: object | None) -> CampaignClaim:
    """The claim of a checkout link's ticket "<kind>:<the kind's token>"; ValidationError when
    no kind knows it (the kind checks the rest)."""
    name, _sep, rest = ticket.partition(":")
    kind = _KINDS.get(name)
    if kind is None or not rest:
        raise ValidationError(_("This campaign link is not valid."), code="campaign_ticket")
    claim = kind.claim_from_ticket(ticket=rest, fan=fan)
    if claim.kind != name or claim.quantity < 1 or claim.unit_price_fen < 1:
        raise ValidationError(_("This campaign link is not valid."), code="campaign_ticket")
    return claim


def campaign_strips(*, listing_id: int, memo: dict[str, frozenset[int]] | None = None) -> str:
    """Every kind's strip for LISTING_ID, in kind order (safe HTML, "" when none).

    MEMO (one per page render) keeps each kind's `live_listing_ids` for the page, so a page of
    cards costs one query per kind, not one per card and kind; those sets are kept in the shop
    data cache like the cards themselves (a campaign's start or end shows within its few
    seconds, and every change a campaign's service makes bumps the shop's generation), so a
    cached page of cards costs no query for them.
    """
    memo = {} if memo is None else memo
    strips = []
    for name in sorted(_KINDS):
        kind = _KINDS[name]
        live = getattr(kind, "live_listing_ids", None)
        if live is not None:
            if name not in memo:
                memo[name] = shop_cache.cached(f"campaign-live:{name}", live)
            if listing_id not in memo[name]:
                continue
        strips.append(kind.listing_strip(listing_id=listing_id))
    return "".join(strips)


def campaign_price_now(*, listing_id: int) -> int | None:
    """The lowest price any campaign running on LISTING_ID offers now, None when none runs
    (what a share poster prints instead of the list price)."""
    prices = []
    for name in sorted(_KINDS):
        price_of = getattr(_KINDS[name], "live_price_fen", None)
        price = price_of(listing_id=listing_id) if price_of is not None else None
        if price:
            prices.append(price)
    return min(prices, default=None)
