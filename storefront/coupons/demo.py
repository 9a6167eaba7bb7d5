"""Demo coupons for `make run` (console's seed_demo calls demo_seed per demo shop)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.models import Fan, Listing

from .models import Coupon, CouponClaim
from .services import coupon_claim, coupon_create

SHOP_WIDE_CODE = "MAN99JIAN10"
LISTING_CODE = "JIUZHE"
DEMO_FAN_MOBILE = "13900139000"


def demo_seed(*, shop) -> None:
    """In SHOP: a shop-wide 满 99 减 10 coupon, 10% off one listing (at most ¥20 off), and a fan
    (mobile 13900139000, sign in with a code) who has claimed the first. Safe to run again."""
    now = timezone.now()
    starts_at, ends_at = now - timedelta(days=1), now + timedelta(days=90)
    with tenant_context(shop):
        shop_wide = Coupon.objects.filter(code=SHOP_WIDE_CODE).first() or coupon_create(
            code=SHOP_WIDE_CODE,
            name="满 99 减 10",
            kind=Coupon.Kind.THRESHOLD,
            amount_fen=1000,
            min_goods_fen=9900,
            scope=Coupon.Scope.SHOP,
            total_limit=1000,
            per_fan_limit=1,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        listing = Listing.objects.filter(is_active=True).order_by("id").first()
        if listing is not None and not Coupon.objects.filter(code=LISTING_CODE).exists():
            coupon_create(
                code=LISTING_CODE,
                name=f"{listing.title[:40]} 9 折",
                kind=Coupon.Kind.PERCENT,
                percent_off=10,
                max_off_fen=2000,
                scope=Coupon.Scope.LISTINGS,
                listings=[listing],
                total_limit=200,
                per_fan_limit=1,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        fan = Fan.objects.filter(mobile=DEMO_FAN_MOBILE).first() or Fan.objects.create(
            mobile=DEMO_FAN_MOBILE, name="小红"
        )
        if not CouponClaim.objects.filter(coupon=shop_wide, fan=fan).exists():
            coupon_claim(coupon=shop_wide, fan=fan, source="link")
