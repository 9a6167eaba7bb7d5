"""A fan's deletion reaches billing's public copies of her orders (parcel address, notices)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from billing.fulfilment.models import BuyerNotice, SupplierOrder
from storefront.fans.services import fan_erase
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
