"""A buyer's personal information in billing's public rows, erased when she asks a shop to.

The shop erases her in its own schema (storefront.fans.services.fan_erase) and calls this for
the public copies billing keeps of her orders: the parcel's address on each supplier order, and
where the shipping e-mails went. What stays, and why:
- a supplier order still to ship or on its way keeps its address until it is delivered or
  cancelled: the parcel cannot reach her without it, and carrying out the contract she made is
  a lawful basis of its own (PIPL art. 13(2)). buyer_erase marks such a parcel (a fulfilment
  event ERASURE_DUE, in the same transaction) and parcels_erase_settled, run hourly by beat
  (storefront.fans.tasks.fans_parcels_erase_task), empties its address once it is delivered or
  cancelled. The mark lives in billing's own table, so billing needs nothing from the shop
  for it (billing never imports storefront);
- 发票 rows keep their title and taxpayer ID (tax law keeps invoices), the e-mail they were
  sent to is erased.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import QuerySet

from billing.documents.models import Invoice
from billing.fulfilment.models import BuyerNotice, FulfilmentEvent, SupplierOrder

ERASED = ""
SETTLED = (SupplierOrder.Status.DELIVERED, SupplierOrder.Status.CANCELLED)
# A moving parcel whose buyer asked to be erased: its address goes once it is settled.
ERASURE_DUE = "erasure_due"
ERASURE_DONE = "erasure_done"
_ADDRESS_ERASED = {"recipient": ERASED, "phone": ERASED, "district": ERASED, "street": ERASED}


def _address_kept(orders: QuerySet[SupplierOrder]) -> QuerySet[SupplierOrder]:
    return orders.exclude(**_ADDRESS_ERASED)


def buyer_erase(*, tenant_id: int, order_numbers: Sequence[str], contacts: Sequence[str]) -> int:
    """Erase the buyer of ORDER_NUMBERS (orders of shop TENANT_ID) from billing's rows, and her
    CONTACTS (mobile, e-mail) wherever a shipping notice of this shop was sent to them.
    Returns how many supplier orders still keep an address because their parcel is moving;
    each is marked, and parcels_erase_settled erases it once delivered or cancelled."""
    contacts = [c for c in contacts if c]
    with transaction.atomic():
        orders = SupplierOrder.objects.filter(tenant_id=tenant_id, order_number__in=order_numbers)
        orders.filter(status__in=SETTLED).update(**_ADDRESS_ERASED)
        if contacts:
            BuyerNotice.objects.filter(
                supplier_order__tenant_id=tenant_id, sent_to__in=contacts
            ).update(sent_to=ERASED)
        Invoice.objects.filter(tenant_id=tenant_id, order_number__in=order_numbers).update(
            email=ERASED
        )
        # Locked, so a delivery committing now cannot slip between the status read and the mark.
        moving = list(orders.exclude(status__in=SETTLED).select_for_update().order_by("pk"))
        marked = set(
            FulfilmentEvent.objects.filter(
                supplier_order__in=moving, action=ERASURE_DUE
            ).values_list("supplier_order_id", flat=True)
        )
        FulfilmentEvent.objects.bulk_create(
            FulfilmentEvent(
                supplier_order=so, action=ERASURE_DUE, from_status=so.status, to_status=so.status
            )
            for so in moving
            if so.pk not in marked
        )
        return len(moving)


def parcels_erase_settled() -> int:
    """Empty the address of every marked parcel (buyer_erase) that has since been delivered or
    cancelled; returns how many. Public schema, every shop at once; safe to repeat (an erased
    address is not matched again) and to run beside deliveries (one UPDATE per parcel,
    each recorded as an ERASURE_DONE event in the same transaction)."""
    due = _address_kept(
        SupplierOrder.objects.filter(
            status__in=SETTLED,
            pk__in=FulfilmentEvent.objects.filter(action=ERASURE_DUE).values("supplier_order_id"),
        )
    )
    done = 0
    with transaction.atomic():
        for so in due.select_for_update().order_by("pk"):
            SupplierOrder.objects.filter(pk=so.pk).update(**_ADDRESS_ERASED)
            FulfilmentEvent.objects.create(
                supplier_order=so, action=ERASURE_DONE, from_status=so.status, to_status=so.status
            )
            done += 1
    return done
