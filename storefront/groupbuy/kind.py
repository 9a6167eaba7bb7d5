"""The group buy's campaign kind: the hooks orders call (storefront.campaigns.claims)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from storefront.campaigns.claims import CampaignClaim

from . import services
from .selectors import groupbuy_for_listing, live_listing_ids


class GroupBuyKind:
    kind = services.KIND

    def claim_from_ticket(self, *, ticket: str, fan: Any | None) -> CampaignClaim:
        return services.claim_from_ticket(ticket=ticket, fan=fan)

    def order_attach(self, *, order: Any, claim: CampaignClaim) -> None:
        services.member_attach(order=order, claim=claim)

    def order_released(self, *, order: Any, line: Any) -> None:
        services.member_released(order=order, line=line)

    def order_paid(self, *, order: Any, line: Any) -> None:
        services.member_paid(order=order)

    def listing_strip(self, *, listing_id: int) -> str:
        """A badge and the link to the campaign's page. The page around it may be cached, so
        the strip carries no figures: its script reads them from the campaign's state URL."""
        campaign = groupbuy_for_listing(listing_id=listing_id)
        if campaign is None:
            return ""
        return render_to_string("storefront/groupbuy/strip.html", {"campaign": campaign})

    def live_listing_ids(self) -> frozenset[int]:
        return live_listing_ids()

    def live_price_fen(self, *, listing_id: int) -> int | None:
        campaign = groupbuy_for_listing(listing_id=listing_id)
        return services.join_price(campaign) if campaign is not None else None

    def holds_fulfilment(self, *, order: Any) -> bool:
        return services.holds_fulfilment(order=order)
