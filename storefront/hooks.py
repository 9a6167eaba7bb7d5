"""What lower layers call when something happened that shops must act on: billing when a
shop's payment is captured (VSTORE_PAYMENT_CAPTURED_HOOK) and when a shop order was refunded
(VSTORE_ORDER_REFUNDED_HOOK), the catalog when a SKU's price terms changed
(VSTORE_PRICE_TERMS_CHANGED_HOOK)."""

from __future__ import annotations

from celery.result import AsyncResult
from django_tenants.utils import tenant_context

from billing.models import Payment


def payment_captured(payment: Payment) -> None:
    """Hand the capture to the shop: a task in the shop's schema marks the order paid."""
    from .tasks import order_paid_task

    with tenant_context(payment.tenant):
        order_paid_task.delay(order_number=payment.order_number, payment_id=payment.pk)


def price_terms_changed(
    *, sku_id: int, change_id: int | None, tenant_ids: list[int]
) -> list[AsyncResult]:
    """Each live shop among TENANT_IDS checks its prices of the SKU in its own task, after the
    catalog's commit: no shop's schema is written inside the staff transaction. Returns the
    tasks sent (the catalog ignores them; tests wait on them)."""
    from tenants.selectors import shops

    from .tasks import listing_prices_check_task

    sent = []
    for tenant in shops().filter(pk__in=tenant_ids):
        with tenant_context(tenant):
            sent.append(listing_prices_check_task.delay(sku_id=sku_id, change_id=change_id))
    return sent


def order_refunded(*, tenant_id: int, order_number: str, fully: bool) -> None:
    """Billing refunded a shop order (after its commit; VSTORE_ORDER_REFUNDED_HOOK).

    A full refund gives the order's coupons back: the creator's to the fan's wallet (claim
    available again, the coupon's use count down) and the platform's amount to its budget. A
    partial refund gives nothing back: the rest of the order still used the coupon. Safe to
    repeat: a coupon is given back once.
    """
    from tenants.selectors import shops

    from .models import Order
    from .orders.services import order_coupons_release
    from .shopapi.events import shop_refund_emit

    shop_refund_emit(tenant_id=tenant_id, order_number=order_number, fully=fully)  # webhooks
    if not fully:
        return
    tenant = shops().filter(pk=tenant_id).first()
    if tenant is None:
        return
    with tenant_context(tenant):
        order = Order.objects.filter(number=order_number).first()
        if order is not None:
            order_coupons_release(order=order)


def orders_refunded(*, items: list[tuple[int, str, bool]]) -> None:
    """order_refunded for many refunds at once (VSTORE_ORDERS_REFUNDED_HOOK): ITEMS are
    (tenant_id, order_number, fully). Each shop is entered once and its webhooks told in one
    transaction; a full refund gives the order's coupons back, as order_refunded does."""
    from collections import defaultdict

    from tenants.selectors import shops

    from .models import Order
    from .orders.services import order_coupons_release
    from .shopapi.events import shop_refunds_emit

    by_shop: defaultdict[int, list[tuple[str, bool]]] = defaultdict(list)
    for tenant_id, order_number, fully in items:
        by_shop[tenant_id].append((order_number, fully))
    for tenant in shops().filter(pk__in=by_shop):
        mine = by_shop[tenant.pk]
        shop_refunds_emit(tenant=tenant, items=mine)  # webhooks
        whole = [number for number, fully in mine if fully]
        if whole:
            with tenant_context(tenant):
                for order in Order.objects.filter(number__in=whole):
                    order_coupons_release(order=order)
