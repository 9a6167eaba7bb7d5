"""Group buys' reads: the live state a page shows, the campaign on a listing, a member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.money import yuan

from .models import GroupBuy, GroupMember, GroupTeam
from .services import join_price, tier_next, tier_price


@dataclass(frozen=True)
class Live:
    """A campaign's state now, from its own row (one primary-key read: always fresh)."""

    campaign_id: int
    kind: str
    status: str
    buyers: int  # paid buyers: real people only
    price_fen: int  # what joining now costs per unit
    reached_fen: int  # the tier the paid buyers have reached
    next_needed: int | None
    next_price_fen: int | None
    min_buyers: int
    units_left: int
    ends_at: datetime
    seconds_left: int
    open: bool

    def text(self) -> str:
        """ "已有 137 人参团 · 再 63 人降到 ¥50 · 还剩 5 小时" in the page's language."""
        parts = [
            ngettext("%(count)d joined", "%(count)d joined", self.buyers) % {"count": self.buyers}
        ]
        if not self.open:
            parts.append(_("Ended"))
            return " · ".join(parts)
        if self.kind == GroupBuy.Kind.TIERED and self.buyers < self.min_buyers:
            short = self.min_buyers - self.buyers
            parts.append(
                ngettext(
                    "%(count)d more needed for the group buy to go ahead",
                    "%(count)d more needed for the group buy to go ahead",
                    short,
                )
                % {"count": short}
            )
        if self.next_needed is not None and self.next_price_fen is not None:
            parts.append(
                ngettext(
                    "%(count)d more to drop to %(price)s",
                    "%(count)d more to drop to %(price)s",
                    self.next_needed,
                )
                % {"count": self.next_needed, "price": yuan(self.next_price_fen)}
            )
        parts.append(time_left_text(self.seconds_left))
        return " · ".join(parts)

    def as_json(self) -> dict:
        return {
            "campaign": self.campaign_id,
            "status": self.status,
            "open": self.open,
            "buyers": self.buyers,
            "price_fen": self.price_fen,
            "price": yuan(self.price_fen),
            "reached_fen": self.reached_fen,
            "next_needed": self.next_needed,
            "next_price_fen": self.next_price_fen,
            "min_buyers": self.min_buyers,
            "units_left": self.units_left,
            "ends_at": self.ends_at.isoformat(),
            "seconds_left": self.seconds_left,
            "text": self.text(),
        }


def time_left_text(seconds: int) -> str:
    if seconds >= 2 * 86400:
        days = seconds // 86400
        return ngettext("%(count)d day left", "%(count)d days left", days) % {"count": days}
    if seconds >= 3600:
        hours = seconds // 3600
        return ngettext("%(count)d hour left", "%(count)d hours left", hours) % {"count": hours}
    minutes = max(1, seconds // 60)
    return ngettext("%(count)d minute left", "%(count)d minutes left", minutes) % {"count": minutes}


def live_of(campaign: GroupBuy) -> Live:
    now = timezone.now()
    is_open = campaign.status == GroupBuy.Status.OPEN and campaign.ends_at > now
    tiers = campaign.price_list
    nxt = tier_next(tiers, campaign.paid_count) if campaign.kind == GroupBuy.Kind.TIERED else None
    reached = campaign.final_price_fen or tier_price(tiers, max(campaign.paid_count, 1))
    return Live(
        campaign_id=campaign.pk,
        kind=campaign.kind,
        status=campaign.status,
        buyers=campaign.paid_count,
        price_fen=join_price(campaign),
        reached_fen=reached,
        next_needed=nxt[0] if nxt else None,
        next_price_fen=nxt[1] if nxt else None,
        min_buyers=campaign.min_buyers,
        units_left=campaign.units_left,
        ends_at=campaign.ends_at,
        seconds_left=max(0, int((campaign.ends_at - now).total_seconds())),
        open=is_open,
    )


def groupbuy_live(*, campaign_id: int) -> Live | None:
    campaign = GroupBuy.objects.filter(pk=campaign_id).first()
    return live_of(campaign) if campaign is not None else None


def groupbuy_get(*, campaign_id: int) -> GroupBuy | None:
    return (
        GroupBuy.objects.select_related("item__listing", "item__sku").filter(pk=campaign_id).first()
    )


def groupbuy_for_listing(*, listing_id: int) -> GroupBuy | None:
    """The group buy running on LISTING_ID now (the newest, if several items have one)."""
    return (
        GroupBuy.objects.filter(
            item__listing_id=listing_id, status=GroupBuy.Status.OPEN, ends_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )


def live_listing_ids() -> frozenset[int]:
    """The listings with a group buy running now (one query; a page of cards asks once)."""
    return frozenset(
        GroupBuy.objects.filter(status=GroupBuy.Status.OPEN, ends_at__gt=timezone.now())
        .values_list("item__listing_id", flat=True)
        .distinct()
    )


def team_by_code(*, code: str) -> GroupTeam | None:
    return GroupTeam.objects.select_related("campaign__item__listing").filter(code=code).first()


def member_for_order(*, order_id: int) -> GroupMember | None:
    return (
        GroupMember.objects.select_related("campaign", "team", "order")
        .filter(order_id=order_id)
        .first()
    )


def teams_open(*, campaign: GroupBuy, limit: int = 5) -> list[GroupTeam]:
    """Groups of CAMPAIGN still waiting for members, the nearest to complete first."""
    return list(
        GroupTeam.objects.filter(
            campaign=campaign, status=GroupTeam.Status.OPEN, expires_at__gt=timezone.now()
        )
        .select_related("leader")
        .order_by("-paid_count", "expires_at")[:limit]
    )


def groupbuys_of_shop() -> list[GroupBuy]:
    return list(GroupBuy.objects.select_related("item__listing", "item__sku").order_by("-id")[:200])
