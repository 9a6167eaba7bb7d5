"""Helpers for the coupon money tests (issue 12, "who pays"): a recording refund hook."""

from __future__ import annotations

# What the recording hook was told, in order: (tenant_id, order_number, fully).
REFUNDS_TOLD: list[tuple[int, str, bool]] = []

HOOK_PATH = "tests.c2_helpers.order_refunded_record"


def order_refunded_record(*, tenant_id: int, order_number: str, fully: bool) -> None:
    """A VSTORE_ORDER_REFUNDED_HOOK for tests: remembers each call."""
    REFUNDS_TOLD.append((tenant_id, order_number, fully))


def couponed_order_paid(shop, *, quantity: int, creator_off_fen: int, platform_off_fen: int):
    """A paid order of QUANTITY units (¥88.00 each) in SHOP through the real checkout, with a
    creator coupon and a platform coupon: (order, claim, platform coupon)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from billing.coupons.models import PlatformCoupon
    from billing.coupons.services import platform_coupon_create
    from billing.models import Payment
    from storefront.coupons.checkout import CouponAsk
    from storefront.coupons.services import coupon_claim
    from storefront.orders.services import Want, order_mark_paid, order_payment_start, order_place

    from .c1_helpers import buyer, code_new, coupon_make, fan_make
    from .payments_helpers import post_notification
    from .storefront_helpers import listed

    _listing, item = listed(shop, price=8800, stock=20)
    fan = fan_make(shop, mobile="13700137099")
    coupon = coupon_make(shop, amount_fen=creator_off_fen)
    now = timezone.now()
    platform = platform_coupon_create(
        name="平台立减",
        code=code_new(),
        kind=PlatformCoupon.Kind.FIXED,
        amount_fen=platform_off_fen,
        budget_fen=100_000,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    with tenant_context(shop):
        claim = coupon_claim(coupon=coupon, fan=fan, source="product")
        order = order_place(
            wants=[Want(item.pk, quantity)],
            buyer=buyer("13700137099"),
            fan=fan,
            coupon=CouponAsk(choice=str(claim.pk), code=platform.code),
        )
        payment = order_payment_start(order=order, provider="sandbox", return_url="http://x/")
    connection.set_schema_to_public()
    from billing.models import SandboxTrade
    from billing.services import sandbox_trade_pay

    sandbox_trade_pay(trade=SandboxTrade.objects.get(out_trade_no=payment.out_trade_no))
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shop):
        order_mark_paid(order_number=order.number, payment_id=Payment.objects.get(pk=payment.pk).pk)
        order.refresh_from_db()
    connection.set_schema_to_public()
    return order, claim, platform
