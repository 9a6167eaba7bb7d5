"""{% groupbuy_order_panel order %} for the order page; small helpers of the group buy pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone

from storefront.groupbuy.models import GroupBuy, GroupMember
from storefront.groupbuy.selectors import Live, live_of, member_for_order

register = template.Library()


@register.inclusion_tag("storefront/groupbuy/order_panel.html")
def groupbuy_order_panel(order: Any) -> dict:
    """The buyer's group buy on ORDER's page: what she paid, the final price, the refund (or
    nothing when ORDER is not a group buy's)."""
    member = member_for_order(order_id=order.pk) if getattr(order, "pk", None) else None
    if member is None:
        return {"member": None}
    campaign = member.campaign
    live = None
    if campaign.kind == GroupBuy.Kind.TIERED and member.status == GroupMember.Status.PAID:
        live = live_of(campaign)
    return {
        "member": member,
        "live": live,
        "page_url": reverse("storefront:groupbuy", args=[campaign.pk]),
        "team_url": reverse("storefront:groupbuy_team", args=[member.team.code])
        if member.team
        else "",
        "can_cancel": campaign.allow_cancel
        and member.status == GroupMember.Status.PAID
        and campaign.status == GroupBuy.Status.OPEN
        and campaign.ends_at > timezone.now(),
    }


@register.inclusion_tag("storefront/groupbuy/progress.html")
def groupbuy_progress(live: Live) -> dict:
    """A bar from the tier reached to the next one."""
    percent = 100
    if live.next_needed:
        done = live.buyers
        percent = int(100 * done / (done + live.next_needed)) if done + live.next_needed else 0
    return {"live": live, "percent": percent}


@register.filter
def groupbuy_joined(orders: list) -> bool:
    """Whether any of ORDERS holds a live place in its group buy (she joined already)."""
    return any(
        getattr(o, "group_member", None) is not None and o.group_member.status in GroupMember.ACTIVE
        for o in orders
    )


@register.filter
def sub(value: int, other: int) -> int:
    try:
        return int(value) - int(other)
    except (TypeError, ValueError):
        return 0
