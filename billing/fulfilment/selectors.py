"""Supplier fulfilment and returns: the reads (for the shop's order page and the portal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import ReturnCase, ReturnCaseLine, SupplierOrder, SupplierOrderLine

if TYPE_CHECKING:
    from catalog.models import Supplier
    from tenants.models import Tenant


def supplier_orders_for_order(*, tenant: Tenant, order_number: str) -> QuerySet[SupplierOrder]:
    """A shop order's parcels, one per supplier, with their lines (2 queries)."""
    return (
        SupplierOrder.objects.filter(tenant=tenant, order_number=order_number)
        .select_related("supplier")
        .prefetch_related("lines")
        .order_by("supplier_id")
    )


def return_cases_for_order(*, tenant: Tenant, order_number: str) -> QuerySet[ReturnCase]:
    """A shop order's returns, newest first, with their lines and the supplier they go back to
    (its return address: company, contact, phone, address) (2 queries)."""
    return (
        ReturnCase.objects.filter(tenant=tenant, order_number=order_number)
        .select_related("supplier_order__supplier")
        .prefetch_related(Prefetch("lines", ReturnCaseLine.objects.select_related("line")))
        .order_by("-requested_at", "-id")
    )


def return_case_for_order(*, tenant: Tenant, order_number: str, pk: int) -> ReturnCase | None:
    """One return of a shop order, or None when PK is not one of this order's (another order's
    or another shop's return answers the same as a missing one)."""
    return return_cases_for_order(tenant=tenant, order_number=order_number).filter(pk=pk).first()


@dataclass(frozen=True)
class ReturnOption:
    """What the buyer may still send back of one line, and until when."""

    line: SupplierOrderLine
    returnable_quantity: int  # 0 when nothing can be returned (see `why_not`)
    window_closes_at: datetime | None
    why_not: str  # "", "not_delivered", "excepted", "window_closed", "all_returned"


def return_options_for_order(
    *, tenant: Tenant, order_number: str, now: datetime | None = None
) -> list[ReturnOption]:
    """Every line of a shop order with what can be returned of it now (for the order page)."""
    now = now or timezone.now()
    options = []
    for so in supplier_orders_for_order(tenant=tenant, order_number=order_number):
        for line in so.lines.all():
            closes = so.delivered_at + timedelta(days=line.return_days) if so.delivered_at else None
            if so.status != SupplierOrder.Status.DELIVERED:
                why = "not_delivered"
            elif line.return_days == 0:
                why = "excepted"
            elif closes is not None and now > closes:
                why = "window_closed"
            elif line.remaining_quantity == 0:
                why = "all_returned"
            else:
                why = ""
            options.append(
                ReturnOption(
                    line=line,
                    returnable_quantity=0 if why else line.remaining_quantity,
                    window_closes_at=closes if line.return_days else None,
                    why_not=why,
                )
            )
    return options


def supplier_orders_of(*, supplier: Supplier, status: str | None = None) -> QuerySet[SupplierOrder]:
    """A supplier's own orders (oldest first: the queue order), optionally by status."""
    qs = SupplierOrder.objects.filter(supplier=supplier).select_related("tenant")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("created_at", "id")


def supplier_to_ship(supplier: Supplier) -> QuerySet[SupplierOrder]:
    """The supplier's to-ship queue, oldest first."""
    return supplier_orders_of(supplier=supplier, status=SupplierOrder.Status.TO_SHIP)


def supplier_order_get(*, supplier: Supplier, pk: int) -> SupplierOrder | None:
    """One of the supplier's own orders, or None (another supplier's id finds nothing)."""
    return (
        SupplierOrder.objects.filter(supplier=supplier, pk=pk)
        .select_related("tenant")
        .prefetch_related("lines", "return_cases")
        .first()
    )


def supplier_returns(*, supplier: Supplier, status: str | None = None) -> QuerySet[ReturnCase]:
    """Returns of the supplier's own orders, oldest first."""
    qs = ReturnCase.objects.filter(supplier_order__supplier=supplier).select_related(
        "supplier_order"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.prefetch_related(
        Prefetch("lines", ReturnCaseLine.objects.select_related("line"))
    ).order_by("requested_at", "id")


def supplier_return_get(*, supplier: Supplier, pk: int) -> ReturnCase | None:
    return supplier_returns(supplier=supplier).filter(pk=pk).first()


def supplier_counts(*, supplier: Supplier) -> dict[str, int]:
    """How many orders wait to be shipped / delivered and how many returns to confirm."""
    orders = SupplierOrder.objects.filter(supplier=supplier)
    return {
        "to_ship": orders.filter(status=SupplierOrder.Status.TO_SHIP).count(),
        "shipped": orders.filter(status=SupplierOrder.Status.SHIPPED).count(),
        "returns": ReturnCase.objects.filter(
            supplier_order__supplier=supplier, status=ReturnCase.Status.REQUESTED
        ).count(),
    }
