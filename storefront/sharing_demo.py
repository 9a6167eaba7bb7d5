"""Demo: a shop's share reward, and a sharer who has earned it for a friend she brought.

Beside storefront/sharing rather than in it: the story needs orders placed and paid, and the
sharing sub-app sits below orders (import-linter's storefront contract).

`demo_seed(shop=...)` is called by the demo seeding (console's seed_demo) for a shop that has
listings. The story is told through the real services, so every page shows it as it would be:
the sharer bought and got her link, a friend bought through it a fortnight ago, the parcel was
delivered ten days ago, the return window closed, and the granting run gave the reward.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import supplier_order_deliver, supplier_order_ship
from billing.models import Payment, SandboxTrade
from billing.services import out_trade_no_new
from core.shop import current_shop_id
from storefront.coupons.models import Coupon
from storefront.coupons.services import coupon_create
from storefront.models import Fan, ListingItem, Order
from storefront.orders.services import Buyer, Want, order_mark_paid, order_place

from .sharing.rewards import share_rewards_grant
from .sharing.selectors import share_reward_coupon
from .sharing.services import share_links_ensure

logger = logging.getLogger(__name__)

SHARER_MOBILE = "13900001001"
FRIEND_MOBILE = "13900001002"
REWARD_CODE = "SHARE5"


def _buyer(mobile: str, recipient: str) -> Buyer:
    return Buyer(
        mobile=mobile,
        email="",
        recipient=recipient,
        recipient_phone=mobile,
        province="浙江",
        city="杭州市",
        district="西湖区",
        street="文三路 100 号",
    )


def _paid(order: Order, *, days_ago: int) -> Order:
    """Pay ORDER in the sandbox DAYS_AGO (a captured payment, as the sandbox's notification
    leaves it) and book it in the shop: capture entry and supplier orders."""
    when = timezone.now() - timedelta(days=days_ago)
    payment = Payment.objects.create(
        tenant_id=current_shop_id(),
        order_number=order.number,
        amount=order.total_fen,
        provider="sandbox",
        out_trade_no=out_trade_no_new(),
        status=Payment.Status.CAPTURED,
        provider_trade_id=f"SBX{uuid.uuid4().hex[:24].upper()}",
        expires_at=when + timedelta(minutes=30),
        captured_at=when,
    )
    SandboxTrade.objects.create(
        out_trade_no=payment.out_trade_no,
        trade_id=payment.provider_trade_id,
        amount=payment.amount,
        currency="CNY",
        notify_url="http://localhost/pay/notify/sandbox/",
        status=SandboxTrade.Status.PAID,
        expires_at=payment.expires_at,
        paid_at=when,
    )
    Order.objects.filter(pk=order.pk).update(created_at=when)  # placed when she paid
    return order_mark_paid(order_number=order.number, payment_id=payment.pk)


def _delivered(order: Order, *, days_ago: int) -> None:
    for so in SupplierOrder.objects.filter(order_number=order.number, tenant_id=current_shop_id()):
        so = supplier_order_ship(
            supplier_order=so,
            supplier=so.supplier,
            carrier="顺丰速运",
            tracking_number="SF1000200030",
        )
        # Shipped the day before it arrived, DAYS_AGO: the story's dates, not today's.
        SupplierOrder.objects.filter(pk=so.pk).update(
            shipped_at=timezone.now() - timedelta(days=days_ago + 1)
        )
        so.refresh_from_db()
        supplier_order_deliver(
            supplier_order=so, delivered_at=timezone.now() - timedelta(days=days_ago)
        )


def demo_seed(*, shop) -> None:
    """An active share reward in SHOP and a sharer (13900001001) who earned it for the friend
    (13900001002) she brought. Safe to run again: a shop where the sharer exists gets nothing
    new. A shop without listings in stock gets only the reward coupon."""
    with tenant_context(shop):
        now = timezone.now()
        coupon = share_reward_coupon()
        if coupon is None and not Coupon.objects.filter(code=REWARD_CODE).exists():
            coupon = coupon_create(
                name="分享好友得 5 元券",
                code=REWARD_CODE,
                kind=Coupon.Kind.FIXED,
                amount_fen=500,
                min_goods_fen=3000,
                purpose=Coupon.Purpose.SHARE_REWARD,
                reward_monthly_cap=5,
                starts_at=now - timedelta(days=30),
                ends_at=now + timedelta(days=365),
            )
            # The reward was set up before the story began (rewards start with it).
            Coupon.objects.filter(pk=coupon.pk).update(created_at=now - timedelta(days=30))
        if coupon is None:
            return
        if Fan.objects.filter(mobile=SHARER_MOBILE).exists():
            # The story is there (it is written all at once): at most its reward is still owed.
            share_rewards_grant()
            return
        in_stock = ListingItem.objects.select_related("listing", "sku__product").filter(
            sku__stock__gte=2
        )
        item = next((i for i in in_stock.order_by("pk") if i.is_available), None)
        if item is None:
            logger.warning("demo share reward: %s has no listing in stock", shop.schema_name)
            return
        with transaction.atomic():
            own = order_place(wants=[Want(item.pk, 1)], buyer=_buyer(SHARER_MOBILE, "林晓雨"))
            own = _paid(own, days_ago=20)
            [link] = share_links_ensure(order=own)
            friend = order_place(
                wants=[Want(item.pk, 1)],
                buyer=_buyer(FRIEND_MOBILE, "周可心"),
                share_code=link.code,
            )
            friend = _paid(friend, days_ago=14)
            _delivered(friend, days_ago=10)
        share_rewards_grant()
