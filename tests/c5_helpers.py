"""Makers for the rewards-for-sharing tests: a share reward, a sharer with her link, a friend who
buys through it (the real pages: /s/<code>/ then checkout, then the provider's notification)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Payment, SandboxTrade
from storefront.coupons.models import Coupon
from storefront.coupons.services import coupon_create
from storefront.models import Fan, Order, ShareLink
from storefront.orders.services import order_mark_paid
from storefront.sharing.services import share_links_ensure

from .payments_helpers import post_notification
from .storefront_helpers import buy_now


def mobile_new() -> str:
    """A mobile number no other test has used (committed rows outlive their test)."""
    return f"139{secrets.randbelow(10**8):08d}"


def email_new() -> str:
    return f"f{secrets.token_hex(5)}@example.com"


def reward_coupon(shop, *, cap: int = 5, name: str = "分享奖励券", **fields) -> Coupon:
    """The shop's share reward: ¥5 off an order of ¥30 or more, ACTIVE now."""
    now = timezone.now()
    with tenant_context(shop):
        coupon = coupon_create(
            **{
                "name": name,
                "code": f"SR{secrets.token_hex(4).upper()}",
                "kind": Coupon.Kind.FIXED,
                "amount_fen": 500,
                "min_goods_fen": 3000,
                "purpose": Coupon.Purpose.SHARE_REWARD,
                "reward_monthly_cap": cap,
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=60),
                **fields,
            }
        )
    connection.set_schema_to_public()
    return coupon


def bought(shop, client, item, *, contact: str, recipient_phone: str | None = None) -> Order:
    """CLIENT buys ITEM at checkout as CONTACT and pays (the sandbox's signed notification);
    returns the paid order. Shipping goes to RECIPIENT_PHONE (her own mobile unless given)."""
    phone = recipient_phone or (contact if "@" not in contact else mobile_new())
    answer = buy_now(client, item, contact=contact, recipient_phone=phone)
    assert answer.status_code == 302, answer.content[:2000]
    connection.set_schema_to_public()
    with tenant_context(shop):
        order = Order.objects.filter(lines__item=item).order_by("-pk").first()
        assert order is not None
    payment = Payment.objects.get(tenant=shop, order_number=order.number)
    # She pays on the sandbox's page (its trade is paid), then the sandbox notifies the platform.
    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(
        status=SandboxTrade.Status.PAID, paid_at=timezone.now()
    )
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shop):
        order = order_mark_paid(order_number=order.number, payment_id=payment.pk)
    connection.set_schema_to_public()
    return order


def sharer_make(shop, shop_client, item, *, contact: str | None = None):
    """A fan who bought ITEM and so has her share link: (fan, link, her order)."""
    contact = contact or mobile_new()
    client = shop_client(f"{shop.schema_name.removeprefix('shop_')}.localhost")
    order = bought(shop, client, item, contact=contact)
    with tenant_context(shop):
        [link] = share_links_ensure(order=order)
        fan = Fan.objects.get(pk=order.fan_id)
    connection.set_schema_to_public()
    return fan, link, order


def friend_buys(shop, shop_client, item, link: ShareLink, *, contact: str | None = None, **kw):
    """A new visitor opens LINK (/s/<code>/) and buys ITEM in the same session."""
    client = shop_client(f"{shop.schema_name.removeprefix('shop_')}.localhost")
    visit = client.get(f"/s/{link.code}/")
    assert visit.status_code == 302
    return bought(shop, client, item, contact=contact or mobile_new(), **kw)
