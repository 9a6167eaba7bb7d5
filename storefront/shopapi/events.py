"""Telling a shop's programs what happened: shop_event_emit records one delivery per active
subscription in the caller's transaction (in the shop's schema), and a Celery task, sent in
that schema after the commit, delivers each. Payloads carry no buyer's contact details: a
receiver that needs the address reads the order with a token the owner gave the contact scope.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from billing.supplierapi.machinery import SHOP_EVENTS, deliveries_record

from .models import ShopDelivery, ShopWebhook

logger = logging.getLogger(__name__)


def _send(schema: str, ids: list[int]) -> None:
    from .tasks import shop_delivery_send_task

    # tenant-schemas-celery stamps the schema current at sending; a commit callback may run
    # after the caller left the shop's context, so the schema of the rows is set again here.
    with schema_context(schema):
        for pk in ids:
            shop_delivery_send_task.delay(delivery_id=pk)


def _send_after_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(partial(_send, getattr(connection, "schema_name", "public"), ids))


def shop_event_emit(
    *, event: str, payload: dict[str, Any], event_id: str | None = None
) -> list[int]:
    """Record EVENT for every active subscription of the current shop (once per EVENT_ID).

    Run inside the shop's tenant context (its rows and subscriptions are there).
    """
    if event not in SHOP_EVENTS:
        raise ValueError(f"unknown shop event {event!r}")
    ids = deliveries_record(
        model=ShopDelivery,
        webhooks=ShopWebhook.objects.filter(is_active=True),
        event=event,
        event_id=event_id,
        payload=payload,
    )
    _send_after_commit(ids)
    return ids


def order_event_data(order: Any) -> dict[str, Any]:
    """An order as webhooks tell it: numbers and lines, no contact details."""
    return {
        "number": order.number,
        "status": order.status,
        "goods_fen": order.goods_fen,
        "shipping_fen": order.shipping_fen,
        "total_fen": order.total_fen,
        "currency": order.currency,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "lines": [
            {
                "id": line.pk,
                "listing_id": line.listing_id,
                "sku_id": line.sku_id,
                "title": line.title,
                "option_label": line.option_label,
                "quantity": line.quantity,
                "retail_price_fen": line.retail_price_fen,
                "campaign": line.campaign,
            }
            # all(), sorted here: a list's prefetched lines serve it with no query per order
            # (order_by() would ask the database again for each).
            for line in sorted(order.lines.all(), key=lambda line: line.pk)
        ],
    }


def order_paid_emit(*, order: Any) -> None:
    """storefront.orders.services.order_mark_paid's call, in its transaction."""
    shop_event_emit(
        event="order.paid", payload=order_event_data(order), event_id=f"order.paid:{order.number}"
    )


def campaign_closed_emit(*, kind: str, campaign_id: int, payload: dict[str, Any]) -> None:
    """For the campaign apps (flash, groupbuy, pricedrop): their campaign closed. Run in the
    shop's context, in the transaction that closed it; once per campaign."""
    shop_event_emit(
        event="campaign.closed",
        payload={"kind": kind, "id": campaign_id, **payload},
        event_id=f"campaign.closed:{kind}:{campaign_id}",
    )


def shop_event_from_billing(
    *, tenant_id: int, event: str, order_number: str, data: dict[str, Any]
) -> None:
    """settings.VSTORE_SHOP_EVENT_HOOK: fulfilment's shipped, delivered and return events, after
    billing's commit, recorded in that shop's schema (and only that shop's)."""
    from tenants.selectors import shops

    tenant = shops().filter(pk=tenant_id).first()
    if tenant is None:
        return
    ref = data.get("shipment_id") or data.get("return_id") or order_number
    try:
        with tenant_context(tenant), transaction.atomic():
            shop_event_emit(event=event, payload=data, event_id=f"{event}:{ref}")
    except Exception:  # the parcel moved either way; a lost webhook must not undo it
        logger.exception("recording %s of %s for shop %s failed", event, order_number, tenant_id)


def shop_refund_emit(*, tenant_id: int, order_number: str, fully: bool) -> None:
    """storefront.hooks.order_refunded's call: refund.succeeded to the shop's subscriptions."""
    from billing.models import Payment
    from tenants.selectors import shops

    tenant = shops().filter(pk=tenant_id).first()
    if tenant is None:
        return
    payment = (
        Payment.objects.filter(tenant_id=tenant_id, order_number=order_number)
        .order_by("-pk")
        .first()
    )
    data = {
        "order_number": order_number,
        "fully": fully,
        "refunded_fen": payment.refunded_amount if payment else 0,
        "currency": payment.currency if payment else "CNY",
    }
    try:
        with tenant_context(tenant), transaction.atomic():
            shop_event_emit(event="refund.succeeded", payload=data)
    except Exception:
        logger.exception("refund.succeeded of %s for shop %s failed", order_number, tenant_id)


def shop_refunds_emit(*, tenant: Any, items: list[tuple[str, bool]]) -> None:
    """shop_refund_emit for many (order_number, fully) of one shop: one query for their
    payments, one transaction in the shop, nothing at all when it has no subscriptions."""
    from billing.models import Payment

    numbers = [number for number, _fully in items]
    latest: dict[str, Any] = {}
    payments = Payment.objects.filter(tenant_id=tenant.pk, order_number__in=numbers)
    for payment in payments.order_by("pk"):
        latest[payment.order_number] = payment  # the last one wins, as in shop_refund_emit
    try:
        with tenant_context(tenant), transaction.atomic():
            if not ShopWebhook.objects.filter(is_active=True).exists():
                return
            for number, fully in items:
                found = latest.get(number)
                shop_event_emit(
                    event="refund.succeeded",
                    payload={
                        "order_number": number,
                        "fully": fully,
                        "refunded_fen": found.refunded_amount if found else 0,
                        "currency": found.currency if found else "CNY",
                    },
                )
    except Exception:  # the money went back either way; a lost webhook must not undo it
        logger.exception("refund.succeeded of %d orders for shop %s failed", len(items), tenant.pk)
