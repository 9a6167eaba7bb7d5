"""Reads of a shop's coupons: a fan's wallet, what can be claimed, a coupon's figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from billing.ledger import CaptureLine, creator_discount_cap_fen
from storefront.models import Fan, ListingItem, Order, OrderLine

from .models import Coupon, CouponClaim, CouponRedemption

WALLET_MAX = 200


def _live(now: datetime) -> Q:
    return Q(status=Coupon.Status.ACTIVE, starts_at__lte=now, ends_at__gt=now)


def claim_usable(claim: CouponClaim, *, now: datetime | None = None) -> bool:
    """Whether CLAIM can be used at checkout now (the order decides whether it applies)."""
    now = now or timezone.now()
    coupon = claim.coupon
    return (
        claim.state == CouponClaim.State.AVAILABLE
        and coupon.status == Coupon.Status.ACTIVE
        and coupon.starts_at <= now < coupon.ends_at
    )


def fan_coupons(*, fan: Fan) -> list[CouponClaim]:
    """FAN's wallet: the claims she can use now first (ending soonest first), then the rest
    (not yet valid, held, used, ended) newest first."""
    now = timezone.now()
    claims = list(
        CouponClaim.objects.filter(fan=fan)
        .select_related("coupon")
        .order_by("-claimed_at", "-id")[:WALLET_MAX]
    )
    usable = sorted(
        (c for c in claims if claim_usable(c, now=now)), key=lambda c: (c.coupon.ends_at, c.pk)
    )
    return usable + [c for c in claims if not claim_usable(c, now=now)]


def fan_claims_usable(*, fan: Fan) -> list[CouponClaim]:
    """FAN's claims usable now, with their coupons and listings (the checkout's candidates)."""
    now = timezone.now()
    return list(
        CouponClaim.objects.filter(fan=fan, state=CouponClaim.State.AVAILABLE)
        .filter(coupon__status=Coupon.Status.ACTIVE)
        .filter(coupon__starts_at__lte=now, coupon__ends_at__gt=now)
        .select_related("coupon")
        .prefetch_related("coupon__listings")
        .order_by("coupon__ends_at", "id")[:50]
    )


def coupons_claimable(*, listing_id: int | None = None) -> QuerySet[Coupon]:
    """Public coupons one can claim now (active, in their window, not all claimed); for a
    listing, the shop-wide ones and that listing's. Ending soonest first."""
    now = timezone.now()
    coupons = (
        Coupon.objects.filter(_live(now), purpose=Coupon.Purpose.PUBLIC)
        .filter(Q(total_limit__isnull=True) | Q(claimed_count__lt=F("total_limit")))
        .order_by("ends_at", "id")
    )
    if listing_id is not None:
        coupons = coupons.filter(
            Q(scope=Coupon.Scope.SHOP) | Q(scope=Coupon.Scope.LISTINGS, listings__id=listing_id)
        ).distinct()
    return coupons


def coupon_stats(*, coupon: Coupon) -> dict:
    """A coupon's figures for the creator: claimed, redeemed (paid orders that used it), its
    discount cost (what it took off those orders: out of her commission), the orders and the
    goods they paid for (GMV, after all discounts)."""
    used = CouponRedemption.objects.filter(coupon=coupon, status=CouponRedemption.Status.USED)
    figures = used.aggregate(n=Count("id"), cost=Sum("amount_fen"))
    orders = Order.objects.filter(
        coupon_redemptions__coupon=coupon,
        coupon_redemptions__status=CouponRedemption.Status.USED,
    )
    return {
        "claimed": coupon.claimed_count,
        "redeemed": figures["n"] or 0,
        "held": CouponRedemption.objects.filter(
            coupon=coupon, status=CouponRedemption.Status.HELD
        ).count(),
        "discount_cost_fen": figures["cost"] or 0,
        "orders": orders.count(),
        "gmv_fen": orders.aggregate(g=Sum("goods_fen"))["g"] or 0,
    }


def _items_in_scope(listing_ids: Sequence[int] | None) -> QuerySet[ListingItem]:
    items = ListingItem.objects.filter(listing__is_active=True, price_flagged=False).select_related(
        "listing", "sku__product"
    )
    if listing_ids is not None:
        items = items.filter(listing_id__in=list(listing_ids))
    return items


def cheapest_in_scope(*, listing_ids: Sequence[int] | None) -> ListingItem | None:
    """The cheapest item on sale among LISTING_IDS (None: the whole shop)."""
    return _items_in_scope(listing_ids).order_by("retail_price_fen", "id").first()


def commission_fen(*, item: ListingItem, quantity: int = 1) -> int:
    """The creator's commission on QUANTITY units of ITEM alone: the most her coupon may take
    off such an order (billing.ledger.creator_discount_cap_fen, the capture's own rule)."""
    line = CaptureLine(
        supplier_id=item.sku.product.supplier_id,
        quantity=quantity,
        supply_price_fen=item.sku.supply_price_fen,
        retail_price_fen=item.retail_price_fen,
    )
    return creator_discount_cap_fen([line])[0]


def coupon_creator_cap_fen(*, listing_ids: list[int] | None) -> int:
    """The most a coupon of hers can take off one unit of the cheapest item in scope (her
    commission on it), for the coupon form's hint; 0 when nothing in scope is on sale."""
    item = cheapest_in_scope(listing_ids=listing_ids)
    return commission_fen(item=item) if item is not None else 0


def order_coupon_lines(*, order: Order) -> dict[str, int]:
    """What ORDER's coupons took off, by funder (its lines' sums)."""
    sums = OrderLine.objects.filter(order=order).aggregate(
        creator=Sum("creator_discount_fen"), platform=Sum("platform_discount_fen")
    )
    return {"creator": sums["creator"] or 0, "platform": sums["platform"] or 0}
