"""Reads of platform coupons: the staff console's list and per-shop uses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from tenants.models import Tenant
from tenants.selectors import shops

from .models import PlatformCoupon, PlatformCouponUse

_TAKEN = [PlatformCouponUse.Status.HELD, PlatformCouponUse.Status.USED]


def platform_coupons(*, status: str = "") -> QuerySet[PlatformCoupon]:
    """Every platform coupon, newest first, with `uses` (held or used orders) counted."""
    found = PlatformCoupon.objects.annotate(
        # distinct: the join with shops repeats each use once per shop.
        uses_count=Count("uses", filter=Q(uses__status__in=_TAKEN), distinct=True),
        shop_count=Count("shops", distinct=True),
    )
    if status in PlatformCoupon.Status.values:
        found = found.filter(status=status)
    return found.order_by("-created_at", "-pk")


def platform_coupon_get(*, pk: int) -> PlatformCoupon:
    """PlatformCoupon.DoesNotExist when there is none."""
    return PlatformCoupon.objects.get(pk=pk)


def platform_coupon_shop_uses(*, coupon: PlatformCoupon) -> list[dict[str, Any]]:
    """Per shop: its name, orders held (unpaid), used (paid), released, and the fen taken."""
    rows = (
        PlatformCouponUse.objects.filter(coupon=coupon)
        .values("tenant_id", "tenant__name", "tenant__schema_name")
        .annotate(
            held=Count("pk", filter=Q(status=PlatformCouponUse.Status.HELD)),
            used=Count("pk", filter=Q(status=PlatformCouponUse.Status.USED)),
            released=Count("pk", filter=Q(status=PlatformCouponUse.Status.RELEASED)),
            taken_fen=Sum("amount_fen", filter=Q(status__in=_TAKEN), default=0),
        )
        .order_by("-taken_fen", "tenant_id")
    )
    return [dict(row) for row in rows]


def platform_coupon_shops(*, coupon: PlatformCoupon) -> list[Tenant]:
    """The shops a coupon is limited to (empty when it is for every shop)."""
    if coupon.all_shops:
        return []
    return list(coupon.shops.order_by("pk"))


def shops_by_names(*, names: list[str]) -> tuple[list[Tenant], list[str]]:
    """Live shops named by their address ("yuer.example.com") or sub-domain ("yuer"), and the
    names that match no live shop. Pooled and template schemas never match."""
    found: list[Tenant] = []
    unknown: list[str] = []
    for name in names:
        key = name.strip().lower()
        tenant = (
            shops()
            .filter(Q(domains__domain=key) | Q(domains__domain=f"{key}.{settings.PLATFORM_DOMAIN}"))
            .distinct()
            .order_by("pk")
            .first()
        )
        if tenant is None:
            unknown.append(name)
        elif tenant not in found:
            found.append(tenant)
    return found, unknown


def platform_code_taken(*, code: str) -> bool:
    """A platform coupon (of any state) has CODE: a shop's coupon may not take it, or a buyer
    typing it would get the shop's coupon instead of the platform's she was promised."""
    return PlatformCoupon.objects.filter(code=code).exists()
