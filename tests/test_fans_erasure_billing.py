"""A fan's deletion reaches billing's public copies of her orders (parcel address, notices)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from billing.fulfilment.models import BuyerNotice, SupplierOrder
from billing.fulfilment.services import supplier_order_deliver, supplier_order_ship
from storefront.fans.services import fan_erase
from storefront.fans.tasks import fans_parcels_erase_task
from storefront.models import Fan
from tests.storefront_helpers import ADDRESS, paid_order, ship_and_deliver

pytestmark = pytest.mark.django_db


def _erase_buyer_of(shops, order) -> None:
    with tenant_context(shops.a):
        fan_erase(fan=Fan.objects.get(pk=order.fan_id))
    connection.set_schema_to_public()


def test_a_delivered_parcel_forgets_her_address_and_where_notices_went(shops, shop_client):
    _buyer, order, _line = paid_order(shops, shop_client)
    so = ship_and_deliver(order)
    BuyerNotice.objects.get_or_create(
        supplier_order=so, step="erasure-test", sent_to="mum@example.com"
    )
    other_shop_notice = BuyerNotice.objects.filter(sent_to="mum@example.com").exclude(
        supplier_order__tenant=shops.a
    )
    kept_elsewhere = list(other_shop_notice.values_list("pk", flat=True))

    _erase_buyer_of(shops, order)

    so.refresh_from_db()
    assert (so.recipient, so.phone, so.district, so.street) == ("", "", "", "")
    # What the books and the supplier's statement need stays.
    assert (so.province, so.city, so.order_number) == ("浙江", "杭州市", order.number)
    assert not BuyerNotice.objects.filter(supplier_order=so, sent_to="mum@example.com").exists()
    # Another shop's notices are that shop's business: untouched.
    assert (
        list(BuyerNotice.objects.filter(pk__in=kept_elsewhere).values_list("pk", flat=True))
        == kept_elsewhere
    )


def test_a_parcel_on_its_way_keeps_its_address_until_delivered(shops, shop_client):
    _buyer, order, _line = paid_order(shops, shop_client)

    _erase_buyer_of(shops, order)

    so = SupplierOrder.objects.get(tenant=shops.a, order_number=order.number)
    assert so.status == SupplierOrder.Status.TO_SHIP
    assert (so.recipient, so.phone, so.street) == (
        ADDRESS["recipient"],
        ADDRESS["recipient_phone"],
        ADDRESS["street"],
    )


def _address(so: SupplierOrder) -> tuple[str, str, str, str]:
    so.refresh_from_db()
    return (so.recipient, so.phone, so.district, so.street)


def test_a_parcel_on_its_way_forgets_her_address_once_delivered_through_the_hourly_task(
    shops, shop_client
):
    _buyer, order, _line = paid_order(shops, shop_client)
    # Parcels of buyers who were never erased keep their addresses, whatever the task does.
    others = list(
        SupplierOrder.objects.filter(status__in=["delivered", "cancelled"])
        .exclude(recipient="")
        .values_list("pk", "recipient", "phone", "street")
    )
    _erase_buyer_of(shops, order)
    so = SupplierOrder.objects.get(tenant=shops.a, order_number=order.number)
    full = (ADDRESS["recipient"], ADDRESS["recipient_phone"], so.district, ADDRESS["street"])

    assert fans_parcels_erase_task() == 0  # still to ship: the supplier needs the address
    assert _address(so) == full
    so = supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF9876543210"
    )
    assert fans_parcels_erase_task() == 0  # on its way: the courier needs it
    assert _address(so) == full

    supplier_order_deliver(supplier_order=so)
    assert fans_parcels_erase_task() == 1

    assert _address(so) == ("", "", "", "")
    assert (so.province, so.city, so.order_number) == ("浙江", "杭州市", order.number)
    assert fans_parcels_erase_task() == 0  # done once; running again changes nothing
    assert so.events.filter(action="erasure_done").count() == 1
    assert (
        list(
            SupplierOrder.objects.filter(pk__in=[pk for pk, *_rest in others]).values_list(
                "pk", "recipient", "phone", "street"
            )
        )
        == others
    )
