"""Builders for tests and benchmarks: a paid order handed to its suppliers, through the services.

The payment is a captured sandbox payment with the sandbox's own trade marked paid, so refunds
go through the real sandbox provider; the capture entry is posted by `capture_post` and the
per-line fee and commission come from `capture_split`, as the shop's capture task does.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from billing.ledger import CaptureLine, capture_post, capture_split
from billing.models import Payment, SandboxTrade
from billing.services import out_trade_no_new
from catalog.models import SKU

from .models import SupplierOrder
from .services import FulfilmentLine, ShipTo, return_days_for, supplier_orders_create

_refs = itertools.count(1)

SHIP_TO = ShipTo(
    recipient="李小红",
    phone="13912345678",
    province="浙江省",
    city="杭州市",
    district="西湖区",
    street="文三路 90 号 2 幢 301",
)


@dataclass(frozen=True)
class Item:
    """One order line to build: QUANTITY of SKU at RETAIL fen; SHIPPING fen on this line;
    the coupons' shares of the line (whole quantity), the creator's and the platform's."""

    sku: SKU
    quantity: int
    retail_price_fen: int
    shipping_fen: int = 0
    creator_discount_fen: int = 0
    platform_discount_fen: int = 0


def payment_captured_sandbox(*, tenant, amount: int, order_number: str) -> Payment:
    now = timezone.now()
    payment = Payment.objects.create(
        tenant=tenant,
        order_number=order_number,
        amount=amount,
        provider="sandbox",
        out_trade_no=out_trade_no_new(),
        status=Payment.Status.CAPTURED,
        provider_trade_id=f"SBX{uuid.uuid4().hex[:24].upper()}",
        expires_at=now + timedelta(minutes=30),
        captured_at=now,
    )
    SandboxTrade.objects.create(
        out_trade_no=payment.out_trade_no,
        trade_id=payment.provider_trade_id,
        amount=amount,
        currency="CNY",
        notify_url="http://localhost/pay/notify/sandbox/",
        status=SandboxTrade.Status.PAID,
        expires_at=payment.expires_at,
        paid_at=now,
    )
    return payment


def order_paid(
    *, tenant, items: list[Item], order_number: str | None = None, take_rate_bp: int = 500
) -> tuple[Payment, list[SupplierOrder], list[int]]:
    """A paid order of ITEMS handed to its suppliers: (payment, supplier orders, line refs)."""
    order_number = order_number or f"T{uuid.uuid4().hex[:15].upper()}"
    skus = {
        sku.pk: sku
        for sku in SKU.objects.select_related("product").filter(pk__in=[i.sku.pk for i in items])
    }
    capture = [
        CaptureLine(
            supplier_id=skus[i.sku.pk].product.supplier_id,
            quantity=i.quantity,
            supply_price_fen=skus[i.sku.pk].supply_price_fen,
            retail_price_fen=i.retail_price_fen,
            shipping_fen=i.shipping_fen,
            creator_discount_fen=i.creator_discount_fen,
            platform_discount_fen=i.platform_discount_fen,
        )
        for i in items
    ]
    splits = capture_split(lines=capture, take_rate_bp=take_rate_bp)
    amount = sum(split.paid_fen for split in splits)
    payment = payment_captured_sandbox(tenant=tenant, amount=amount, order_number=order_number)
    capture_post(payment=payment, lines=capture, take_rate_bp=take_rate_bp)
    refs = [next(_refs) for _ in items]
    lines = [
        FulfilmentLine(
            line_ref=ref,
            sku_id=i.sku.pk,
            supplier_id=c.supplier_id,
            title=skus[i.sku.pk].product.title,
            option_label=skus[i.sku.pk].label,
            quantity=i.quantity,
            retail_price_fen=i.retail_price_fen,
            supply_price_fen=c.supply_price_fen,
            shipping_fen=i.shipping_fen,
            fee_fen=split.fee_fen,
            commission_fen=split.commission_fen,
            creator_discount_fen=split.creator_discount_fen,
            platform_discount_fen=split.platform_discount_fen,
            return_days=return_days_for(product=skus[i.sku.pk].product),
        )
        for ref, i, c, split in zip(refs, items, capture, splits, strict=True)
    ]
    orders = supplier_orders_create(
        tenant=tenant, order_number=order_number, payment=payment, ship_to=SHIP_TO, lines=lines
    )
    return payment, orders, refs
