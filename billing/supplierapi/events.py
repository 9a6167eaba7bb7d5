"""Telling a supplier's programs what happened: supplier_event_emit records one delivery per
subscription in the caller's transaction, and a Celery task sends each after the commit."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from billing.fulfilment.models import ReturnCase, SupplierOrder

from .machinery import SUPPLIER_EVENTS, deliveries_record
from .models import SupplierDelivery, SupplierWebhook


def _send_after_commit(ids: list[int]) -> None:
    from .tasks import supplier_delivery_send_task

    for pk in ids:
        transaction.on_commit(partial(supplier_delivery_send_task.delay, delivery_id=pk))


def supplier_event_emit(
    *, supplier_id: int, event: str, payload: dict[str, Any], event_id: str | None = None
) -> list[int]:
    """Record EVENT for every active subscription of SUPPLIER_ID (once per EVENT_ID)."""
    if event not in SUPPLIER_EVENTS:
        raise ValueError(f"unknown supplier event {event!r}")
    ids = deliveries_record(
        model=SupplierDelivery,
        webhooks=SupplierWebhook.objects.filter(supplier_id=supplier_id, is_active=True),
        event=event,
        event_id=event_id,
        payload=payload,
    )
    _send_after_commit(ids)
    return ids


def suppliers_subscribed(*, supplier_ids: set[int]) -> set[int]:
    """Which of SUPPLIER_IDS have an active subscription (one query): the others' events
    would record nothing, so a batch need not build their payloads."""
    active = SupplierWebhook.objects.filter(supplier_id__in=supplier_ids, is_active=True)
    return set(active.values_list("supplier_id", flat=True))


def supplier_order_data(so: SupplierOrder) -> dict[str, Any]:
    """What the API and webhooks say about one supplier order (its own supplier's only)."""
    return {
        "id": so.pk,
        "order_number": so.order_number,
        "status": so.status,
        "currency": so.currency,
        "ship_to": {
            "recipient": so.recipient,
            "phone": so.phone,
            "province": so.province,
            "city": so.city,
            "district": so.district,
            "street": so.street,
        },
        "carrier": so.carrier,
        "tracking_number": so.tracking_number,
        "created_at": so.created_at,
        "shipped_at": so.shipped_at,
        "delivered_at": so.delivered_at,
        "lines": [
            {
                "id": line.pk,
                "sku_id": line.sku_id,
                "title": line.title,
                "option_label": line.option_label,
                "quantity": line.quantity,
                "supply_price_fen": line.supply_price_fen,
                "returned_quantity": line.returned_quantity,
            }
            for line in so.lines.order_by("pk")
        ],
    }


def return_case_data(case: ReturnCase) -> dict[str, Any]:
    return {
        "id": case.pk,
        "supplier_order_id": case.supplier_order_id,
        "order_number": case.order_number,
        "status": case.status,
        "reason": case.reason,
        "refund_fen": case.refund_fen,
        "requested_at": case.requested_at,
        "return_carrier": case.return_carrier,
        "return_tracking_number": case.return_tracking_number,
        "received_at": case.received_at,
        "refunded_at": case.refunded_at,
        "lines": [
            {"line_id": cl.line_id, "quantity": cl.quantity}
            for cl in case.lines.order_by("line_id")
        ],
    }


def supplier_order_event(*, so: SupplierOrder, event: str) -> None:
    """Fulfilment's call: EVENT about SO to its supplier's subscriptions."""
    supplier_event_emit(
        supplier_id=so.supplier_id,
        event=event,
        payload=supplier_order_data(so),
        event_id=f"{event}:{so.pk}",
    )


def return_case_event(*, case: ReturnCase, supplier_id: int) -> None:
    supplier_event_emit(
        supplier_id=supplier_id,
        event="return.requested",
        payload=return_case_data(case),
        event_id=f"return.requested:{case.pk}",
    )


# --- fulfilment's events: the supplier's subscriptions now, the shop's after the commit ---------


def _shop_hook(*, tenant_id: int, event: str, order_number: str, data: dict[str, Any]) -> None:
    """settings.VSTORE_SHOP_EVENT_HOOK, `hook(*, tenant_id, event, order_number, data)`: billing
    does not import storefront, so the shop's webhooks hear of fulfilment through it."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, "VSTORE_SHOP_EVENT_HOOK", "")
    if path:
        import_string(path)(tenant_id=tenant_id, event=event, order_number=order_number, data=data)


def _shop_after_commit(*, tenant_id: int, event: str, order_number: str, data: dict) -> None:
    transaction.on_commit(
        partial(_shop_hook, tenant_id=tenant_id, event=event, order_number=order_number, data=data),
        robust=True,
    )


def fulfilment_event(*, so: SupplierOrder, event: str) -> None:
    """SO was created, shipped or delivered: tell its supplier (and, for shipped and delivered,
    the shop that sold it) — each only what is theirs."""
    supplier_order_event(so=so, event=event)
    if event in ("order.shipped", "order.delivered"):
        data = {
            "order_number": so.order_number,
            "shipment_id": so.pk,
            "status": so.status,
            "carrier": so.carrier,
            "tracking_number": so.tracking_number,
            "shipped_at": so.shipped_at,
            "delivered_at": so.delivered_at,
            "lines": [
                {"line_id": line_ref, "quantity": quantity}
                for line_ref, quantity in so.lines.order_by("line_ref").values_list(
                    "line_ref", "quantity"
                )
            ],
        }
        _shop_after_commit(
            tenant_id=so.tenant_id, event=event, order_number=so.order_number, data=data
        )


def return_requested_event(*, case: ReturnCase, so: SupplierOrder) -> None:
    """A buyer asked to return goods of SO: its supplier and the shop hear of it."""
    return_case_event(case=case, supplier_id=so.supplier_id)
    line_refs = dict(so.lines.values_list("pk", "line_ref"))
    data = {
        "order_number": case.order_number,
        "return_id": case.pk,
        "status": case.status,
        "reason": case.reason,
        "refund_fen": case.refund_fen,
        "lines": [
            {"line_id": line_refs.get(cl.line_id), "quantity": cl.quantity}
            for cl in case.lines.order_by("line_id")
        ],
    }
    _shop_after_commit(
        tenant_id=case.tenant_id,
        event="return.requested",
        order_number=case.order_number,
        data=data,
    )
