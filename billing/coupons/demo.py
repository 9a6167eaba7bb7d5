"""The demo's platform coupon (make run): 平台新人券, ¥5 off orders of ¥30, in every shop,
with a ¥500 budget. The lead's seed_demo calls demo_seed() and prints DEMO_CODE."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import PlatformCoupon
from .services import platform_coupon_create

DEMO_CODE = "VSTORE5"


def demo_seed() -> None:
    """Make the demo's platform coupon once; a second run changes nothing."""
    if PlatformCoupon.objects.filter(code=DEMO_CODE).exists():
        return
    now = timezone.now()
    platform_coupon_create(
        name="平台新人券",
        code=DEMO_CODE,
        kind=PlatformCoupon.Kind.THRESHOLD,
        amount_fen=500,
        min_goods_fen=3000,
        budget_fen=50_000,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(days=365),
        all_shops=True,
    )
