"""Demo group buys for `make run`: call `groupbuy_demo_seed(shop=tenant)` per demo shop.

In SHOP: a tiered group buy in progress (seven demo buyers have joined and paid through the
sandbox; the next tier is three buyers away) and an open 拼团 group of three waiting for one
more member. Real members only, even in the demo: each is a demo fan's paid order, placed
through the same checkout services as a buyer's. Safe to run again (it finds its campaigns by
title and adds nothing twice).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Payment, SandboxTrade
from billing.services import out_trade_no_new
from core.shop import current_shop_id
from storefront.models import ListingItem, Order
from storefront.orders.services import Buyer, Want, order_mark_paid, order_place

from .models import GroupBuy, GroupTeam
from .services import Terms, claim_from_ticket, groupbuy_create, ticket_make

TIERED_TITLE = "团购拍 · 越多人买越便宜"
FIXED_TITLE = "拼团 · 三人成团"
DEMO_BUYERS = 7
BUYER = Buyer(
    mobile="",
    email="",
    recipient="团购演示",
    recipient_phone="",
    province="浙江",
    city="杭州市",
    district="西湖区",
    street="文三路 100 号",
)


def _demo_buyer(n: int) -> Buyer:
    mobile = f"1370{n:07d}"
    return replace(BUYER, mobile=mobile, recipient_phone=mobile)


def _paid(order: Order) -> Order:
    """Pay ORDER in the sandbox (a captured payment, as the sandbox's notification leaves it)
    and book it in the shop."""
    now = timezone.now()
    payment = Payment.objects.create(
        tenant_id=current_shop_id(),
        order_number=order.number,
        amount=order.total_fen,
        provider="sandbox",
        out_trade_no=out_trade_no_new(),
        status=Payment.Status.CAPTURED,
        provider_trade_id=f"SBX{uuid.uuid4().hex[:24].upper()}",
        expires_at=order.pay_deadline,
        captured_at=now,
    )
    SandboxTrade.objects.create(
        out_trade_no=payment.out_trade_no,
        trade_id=payment.provider_trade_id,
        amount=payment.amount,
        currency="CNY",
        notify_url="http://localhost/pay/notify/sandbox/",
        status=SandboxTrade.Status.PAID,
        expires_at=payment.expires_at,
        paid_at=now,
    )
    return order_mark_paid(order_number=order.number, payment_id=payment.pk)


def _join_paid(campaign: GroupBuy, n: int, team: str = "") -> Order:
    claim = claim_from_ticket(ticket=ticket_make(campaign=campaign, team_code=team), fan=None)
    order = order_place(
        wants=[Want(claim.item_id, claim.quantity)], buyer=_demo_buyer(n), campaign=claim
    )
    return _paid(order)


def _tiers_for(item: ListingItem, steps: tuple[int, ...]) -> list[list[int]]:
    """Tiers from the shop's price down in STEPS percent, inside the supplier's bounds."""
    # Campaign terms the creator would type, not a line's price (pricing.py prices lines).
    shop_price = item.retail_price_fen
    tiers = [[1, shop_price]]
    for buyers, percent in zip((10, 20), steps, strict=False):
        price = max(item.sku.min_retail_fen, shop_price * percent // 100)
        if price < tiers[-1][1]:
            tiers.append([buyers, price])
    return tiers


def _items() -> list[ListingItem]:
    return [
        item
        for item in ListingItem.objects.select_related("listing", "sku")
        .filter(listing__is_active=True)
        .order_by("id")
        if item.is_available and item.sku.stock >= 30
    ]


def groupbuy_demo_seed(*, shop) -> None:
    """Seed SHOP's demo group buys (see the module docstring); idempotent."""
    with tenant_context(shop):
        items = _items()
        if not items:
            return
        ends = timezone.now() + timedelta(days=3)
        tiered = GroupBuy.objects.filter(title=TIERED_TITLE).first()
        if tiered is None:
            item = items[0]
            tiers = _tiers_for(item, (85, 75))
            tiered = groupbuy_create(
                kind=GroupBuy.Kind.TIERED,
                item=item,
                terms=Terms(
                    title=TIERED_TITLE,
                    tiers=tiers,
                    ends_at=ends,
                    quantity=min(100, item.sku.stock // 2),
                    min_buyers=5,
                    allow_cancel=True,
                ),
            )
            for n in range(DEMO_BUYERS):
                _join_paid(tiered, n)
        fixed = GroupBuy.objects.filter(title=FIXED_TITLE).first()
        if fixed is None and len(items) > 1:
            item = items[1]
            shop_price = item.retail_price_fen
            price = max(item.sku.min_retail_fen, shop_price * 80 // 100)
            fixed = groupbuy_create(
                kind=GroupBuy.Kind.FIXED,
                item=item,
                terms=Terms(
                    title=FIXED_TITLE,
                    tiers=[[1, price]],
                    ends_at=ends,
                    quantity=min(30, item.sku.stock // 2),
                    group_size=3,
                    lifetime_hours=24,
                ),
            )
            leader = _join_paid(fixed, 100)
            team = GroupTeam.objects.get(members__order=leader)
            _join_paid(fixed, 101, team=team.code)
