"""Coupons on a shop's pages: the 领券 strip of a product page, a coupon's rules in words.

The product page is kept in the anonymous page cache (cms/page_cache.py), so the strip shows
only what is the same for every visitor (the coupons anyone may claim now); whether *she* may
still claim one is answered by the claim POST, per fan.
"""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.money import yuan
from core.shop_cache import cached
from storefront.coupons.models import Coupon, CouponClaim
from storefront.coupons.selectors import claim_usable as usable
from storefront.coupons.selectors import coupons_claimable
from storefront.selectors import listing_url

register = template.Library()

# A product page shows at most this many coupons: the strip is a teaser, the coupon link has all.
STRIP_MAX = 3


@register.inclusion_tag("storefront/coupons/claim_strip.html", takes_context=True)
def coupon_strip(context: template.Context, listing) -> dict:
    # Kept in the shop data cache like the page's other reads: a coupon made, ended or all
    # claimed shows within seconds, and a press on a stale one is answered by the claim POST.
    coupons = cached(
        f"coupon-strip:{listing.pk}",
        lambda: list(coupons_claimable(listing_id=listing.pk)[:STRIP_MAX]),
    )
    # The page's CSRF token goes with the forms (the page cache swaps in each visitor's own).
    return {"coupons": coupons, "csrf_token": context.get("csrf_token")}


@register.simple_tag
def coupon_headline(coupon: Coupon) -> str:
    """What the coupon takes off, the big figure on its ticket: "¥10.00", "20% off"."""
    if coupon.kind == Coupon.Kind.PERCENT:
        return _("%(percent)s%% off") % {"percent": coupon.percent_off}
    return yuan(coupon.amount_fen)


@register.simple_tag
def coupon_rules(coupon: Coupon) -> list[str]:
    """The coupon's rules, one short sentence each, as the fan must see them before claiming
    (and the creator before saving): threshold, cap, scope, who may use it, how many."""
    rules = []
    if coupon.min_goods_fen:
        rules.append(
            _("%(off)s off orders of goods over %(min)s")
            % {"off": coupon_headline(coupon), "min": yuan(coupon.min_goods_fen)}
        )
    elif coupon.kind == Coupon.Kind.PERCENT:
        rules.append(_("%(percent)s%% off any order") % {"percent": coupon.percent_off})
    else:
        rules.append(_("%(off)s off any order") % {"off": yuan(coupon.amount_fen)})
    if coupon.kind == Coupon.Kind.PERCENT and coupon.max_off_fen:
        rules.append(_("At most %(cap)s off") % {"cap": yuan(coupon.max_off_fen)})
    if coupon.scope == Coupon.Scope.LISTINGS:
        rules.append(_("On selected goods only"))
    else:
        rules.append(_("On all goods in this shop"))
    if coupon.new_buyers_only:
        rules.append(_("For your first order in this shop"))
    if coupon.per_fan_limit > 1:
        rules.append(_("Up to %(n)s per person") % {"n": coupon.per_fan_limit})
    else:
        rules.append(_("One per person"))
    if not coupon.allow_with_campaign:
        rules.append(_("Not for flash sale, group buy or price-drop prices"))
    return rules


@register.simple_tag
def coupon_validity(coupon: Coupon) -> str:
    start = timezone.localtime(coupon.starts_at)
    end = timezone.localtime(coupon.ends_at)
    return _("Valid %(start)s – %(end)s") % {
        "start": date_format(start, "SHORT_DATETIME_FORMAT"),
        "end": date_format(end, "SHORT_DATETIME_FORMAT"),
    }


CLAIM_STATE_LABELS = {
    "available": _("Ready to use"),
    "held": _("Held by an unpaid order"),
    "used": _("Used"),
    "expired": _("Expired"),
}


@register.simple_tag
def claim_usable(claim: CouponClaim) -> bool:
    """Can she spend it at checkout now (coupons.selectors.claim_usable)."""
    return usable(claim)


@register.simple_tag
def claim_state_label(claim: CouponClaim) -> str:
    now = timezone.now()
    coupon = claim.coupon
    if claim.state == CouponClaim.State.AVAILABLE:
        if coupon.status == Coupon.Status.ENDED or coupon.ends_at <= now:
            return str(CLAIM_STATE_LABELS["expired"])
        if coupon.status == Coupon.Status.PAUSED:
            return _("Paused by the shop for now")
        if coupon.starts_at > now:
            return _("Usable from %(start)s") % {
                "start": date_format(timezone.localtime(coupon.starts_at), "SHORT_DATETIME_FORMAT")
            }
    return str(CLAIM_STATE_LABELS.get(claim.state, claim.state))


@register.simple_tag
def claim_use_url(claim: CouponClaim) -> str:
    return coupon_use_url(claim.coupon)


@register.simple_tag
def coupon_use_url(coupon: Coupon) -> str:
    """去使用: the product page of a coupon for one listing, the shop's home page otherwise."""
    if coupon.scope == Coupon.Scope.LISTINGS:
        ids = [listing.pk for listing in coupon.listings.all()[:2]]
        if len(ids) == 1:
            return listing_url(ids[0])
    return "/"
