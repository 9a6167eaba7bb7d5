"""Makers for platform-coupon tests (billing.coupons)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from billing.coupons.models import PlatformCoupon
from billing.coupons.services import platform_coupon_create

_seq = itertools.count(1)


def platform_coupon_make(**fields: Any) -> PlatformCoupon:
    """A live ¥5-off platform coupon for every shop with a ¥500 budget, unless told otherwise."""
    now = timezone.now()
    values: dict[str, Any] = {
        "name": "平台新人券",
        "code": f"PT{next(_seq):04d}{now.microsecond:06d}"[:16],
        "kind": PlatformCoupon.Kind.FIXED,
        "amount_fen": 500,
        "budget_fen": 50_000,
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=7),
    }
    values.update(fields)
    return platform_coupon_create(**values)
