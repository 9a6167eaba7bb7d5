"""Rewards for sharing in the buyer's pages: her account page's "friends I brought" part and
what the order page's share section promises (storefront.sharing)."""

from __future__ import annotations

from django import template

from storefront.sharing.selectors import SharerSummary, share_reward_coupon, sharer_summary

register = template.Library()


@register.simple_tag
def sharing_summary(fan) -> SharerSummary | None:
    """Whom FAN brought and what she earned (None for no fan: nothing to show)."""
    return sharer_summary(fan=fan) if fan is not None and getattr(fan, "pk", None) else None


@register.simple_tag
def sharing_reward():
    """The shop's share reward now (a coupon), or None: the order page promises only what is
    really offered."""
    return share_reward_coupon()
