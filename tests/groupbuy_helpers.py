"""Makers for group buy tests: a running group buy, buyers joining through the real checkout
services (claim from a signed ticket, order_place, sandbox payment, order_mark_paid)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Payment, SandboxTrade
from storefront.groupbuy.models import GroupBuy
from storefront.groupbuy.services import Terms, claim_from_ticket, groupbuy_create, ticket_make
from storefront.models import Order
from storefront.orders.services import Want, order_mark_paid, order_payment_start, order_place

from .payments_helpers import post_notification
from .storefront_helpers import BUYER, listed

# Prices inside catalog.testing.terms()' bounds (¥60–¥120, supply ¥50).
TIERS = [[1, 10000], [3, 8000], [5, 7000]]
_mobiles = itertools.count(13_700_000_000)


def mobile_new() -> str:
    return str(next(_mobiles))


def buyer_new(mobile: str | None = None):
    mobile = mobile or mobile_new()
    return replace(BUYER, mobile=mobile, recipient_phone=mobile)


def tiered(shop, *, tiers=TIERS, min_buyers: int = 2, quantity: int = 20, stock: int = 40, **kw):
    """A tiered group buy in SHOP on a new listing at ¥100; returns (campaign, item)."""
    _listing, item = listed(shop, price=10000, stock=stock)
    with tenant_context(shop):
        campaign = groupbuy_create(
            kind=GroupBuy.Kind.TIERED,
            item=item,
            terms=Terms(
                title=kw.pop("title", "一起买更便宜"),
                tiers=tiers,
                ends_at=timezone.now() + timedelta(hours=kw.pop("hours", 5)),
                quantity=quantity,
                min_buyers=min_buyers,
                **kw,
            ),
        )
    connection.set_schema_to_public()
    return campaign, item


def fixed(shop, *, size: int = 3, price: int = 7000, quantity: int = 20, stock: int = 40, **kw):
    """A 拼团 campaign (groups of SIZE at PRICE) in SHOP; returns (campaign, item)."""
    _listing, item = listed(shop, price=10000, stock=stock)
    with tenant_context(shop):
        campaign = groupbuy_create(
            kind=GroupBuy.Kind.FIXED,
            item=item,
            terms=Terms(
                title="三人拼团",
                tiers=[[1, price]],
                ends_at=timezone.now() + timedelta(days=2),
                quantity=quantity,
                group_size=size,
                **kw,
            ),
        )
    connection.set_schema_to_public()
    return campaign, item


def join(shop, campaign, *, mobile: str | None = None, team: str = "", quantity: int = 1) -> Order:
    """A buyer checks out through the campaign's ticket (not paid yet)."""
    with tenant_context(shop):
        claim = claim_from_ticket(
            ticket=ticket_make(campaign=campaign, quantity=quantity, team_code=team), fan=None
        )
        order = order_place(
            wants=[Want(claim.item_id, claim.quantity)], buyer=buyer_new(mobile), campaign=claim
        )
    connection.set_schema_to_public()
    return order


def pay(shop, order: Order) -> Payment:
    """Pay ORDER through the sandbox: the provider's notification captures, the shop books it."""
    with tenant_context(shop):
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    connection.set_schema_to_public()
    # What the sandbox's pay page does when she presses "Pay" (its refunds need a paid trade).
    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(
        status=SandboxTrade.Status.PAID, paid_at=timezone.now()
    )
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shop):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
    connection.set_schema_to_public()
    payment.refresh_from_db()
    return payment


def joined_paid(shop, campaign, n: int, **kw) -> list[Order]:
    orders = []
    for _ in range(n):
        order = join(shop, campaign, **kw)
        pay(shop, order)
        orders.append(order)
    return orders


def deadline_passes(shop, campaign) -> None:
    with tenant_context(shop):
        GroupBuy.objects.filter(pk=campaign.pk).update(
            ends_at=timezone.now() - timedelta(seconds=1)
        )
    connection.set_schema_to_public()
