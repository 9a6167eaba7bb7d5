"""A buyer's personal information in billing's public rows, erased when she asks a shop to.

The shop erases her in its own schema (storefront.fans.services.fan_erase) and calls this for
the public copies billing keeps of her orders: the parcel's address on each supplier order, and
where the shipping e-mails went. What stays, and why:
- a supplier order still to ship or on its way keeps its address: the parcel cannot reach her
  without it, and carrying out the contract she made is a lawful basis of its own (PIPL art.
  13(2)). It is not yet erased later by itself: buyer_erase returns how many such parcels
  remain, and the shop logs it; erasing them at delivery is a follow-up;
- 发票 rows keep their title and taxpayer ID (tax law keeps invoices), the e-mail they were
  sent to is erased.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from billing.documents.models import Invoice
from billing.fulfilment.models import BuyerNotice, SupplierOrder

ERASED = ""
SETTLED = (SupplierOrder.Status.DELIVERED, SupplierOrder.Status.CANCELLED)


def buyer_erase(*, tenant_id: int, order_numbers: Sequence[str], contacts: Sequence[str]) -> int:
    """Erase the buyer of ORDER_NUMBERS (orders of shop TENANT_ID) from billing's rows, and her
    CONTACTS (mobile, e-mail) wherever a shipping notice of this shop was sent to them.
    Returns how many supplier orders still keep an address because their parcel is moving."""
    contacts = [c for c in contacts if c]
    with transaction.atomic():
        orders = SupplierOrder.objects.filter(tenant_id=tenant_id, order_number__in=order_numbers)
        orders.filter(status__in=SETTLED).update(
            recipient=ERASED, phone=ERASED, district=ERASED, street=ERASED
        )
        if contacts:
            BuyerNotice.objects.filter(
                supplier_order__tenant_id=tenant_id, sent_to__in=contacts
            ).update(sent_to=ERASED)
        Invoice.objects.filter(tenant_id=tenant_id, order_number__in=order_numbers).update(
            email=ERASED
        )
        return orders.exclude(status__in=SETTLED).count()
