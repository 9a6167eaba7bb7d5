"""Makers for the coupon tests (coupons core, pricing, checkout)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.coupons.models import Coupon
from storefront.coupons.services import coupon_create
from storefront.models import Fan
from storefront.orders.services import Buyer

from .storefront_helpers import BUYER

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def code_new() -> str:
    return "T" + "".join(secrets.choice(_ALPHABET) for _ in range(9))


def coupon_make(shop, **fields) -> Coupon:
    """A live creator coupon in SHOP: ¥5 off anything by default; FIELDS override."""
    now = timezone.now()
    values = {
        "code": code_new(),
        "name": "测试券",
        "kind": Coupon.Kind.FIXED,
        "amount_fen": 500,
        "scope": Coupon.Scope.SHOP,
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=1),
        **fields,
    }
    if values["kind"] == Coupon.Kind.PERCENT:
        values.setdefault("percent_off", 10)
        values["amount_fen"] = fields.get("amount_fen", 0)
    with tenant_context(shop):
        return coupon_create(**values)


def buyer(mobile: str) -> Buyer:
    return replace(BUYER, mobile=mobile, recipient_phone=mobile)


def fan_make(shop, mobile: str = "13700137000") -> Fan:
    with tenant_context(shop):
        return Fan.objects.get_or_create(mobile=mobile, defaults={"name": "小红"})[0]
