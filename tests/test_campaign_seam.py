"""The seam every campaign kind uses: a claim priced by pricing's campaign step, its units from
the campaign's quota (never the SKU's), and the kind's hooks at the moments that matter.

A small kind defined here ("probe") records what orders told it, so these tests pin the seam
itself; the real kinds (storefront.flash, .groupbuy, .pricedrop) test their own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from catalog.models import SKU
from storefront.campaigns import registry
from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.rules import campaign_price_check
from storefront.models import Order, OrderLine
from storefront.orders.paying import order_cancel
from storefront.orders.services import (
    Want,
    order_expire,
    order_fulfil,
    order_mark_paid,
    order_payment_start,
    order_place,
    order_quote,
)

from .payments_helpers import post_notification
from .storefront_helpers import BUYER, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


@dataclass
class ProbeKind:
    kind: str = "probe"
    hold: bool = False
    refuse_attach: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)

    def claim_from_ticket(self, *, ticket: str, fan: Any | None) -> CampaignClaim:
        raise ValidationError("not used here")

    def order_attach(self, *, order: Any, claim: CampaignClaim) -> None:
        if self.refuse_attach:
            raise ValidationError("the campaign's last unit is gone", code="campaign_sold_out")
        self.calls.append(("attach", order.number))

    def order_released(self, *, order: Any, line: Any) -> None:
        self.calls.append(("released", order.number))

    def order_paid(self, *, order: Any, line: Any) -> None:
        self.calls.append(("paid", order.number))

    def listing_strip(self, *, listing_id: int) -> str:
        return ""

    def holds_fulfilment(self, *, order: Any) -> bool:
        return self.hold


@pytest.fixture
def probe():
    kind = ProbeKind()
    registry.campaign_kind_register(kind)
    yield kind
    registry._KINDS.pop("probe", None)


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def claim_for(item, *, price: int = 6000, quantity: int = 1, **kw) -> CampaignClaim:
    return CampaignClaim(
        kind="probe", campaign_id=7, item_id=item.pk, quantity=quantity, unit_price_fen=price, **kw
    )


def test_a_claim_is_priced_at_the_campaign_price_and_takes_no_sku_stock(shops, probe):
    _listing, item = listed(shops.a, price=8800, stock=3)
    with tenant_context(shops.a):
        quote = order_quote(wants=[Want(item.pk, 2)], campaign=claim_for(item, quantity=2))
        order = order_place(
            wants=[Want(item.pk, 2)], buyer=BUYER, campaign=claim_for(item, quantity=2)
        )
        line = OrderLine.objects.get(order=order)

    assert quote["goods_fen"] == 12000
    assert (order.goods_fen, line.retail_price_fen, line.campaign) == (12000, 6000, "probe:7")
    assert stock(item.sku_id) == 3  # the campaign's quota holds the units, not the SKU
    assert probe.calls == [("attach", order.number)]


def test_a_claim_buys_its_item_alone_in_the_quantity_granted(shops, probe):
    _l1, item = listed(shops.a, price=8800, stock=3)
    _l2, other = listed(shops.a, price=7000, stock=3)
    with tenant_context(shops.a):
        for wants in ([Want(item.pk, 2)], [Want(item.pk, 1), Want(other.pk, 1)]):
            with pytest.raises(ValidationError, match="not valid"):
                order_place(wants=wants, buyer=BUYER, campaign=claim_for(item))
        assert not Order.objects.exists()
    assert (stock(item.sku_id), stock(other.sku_id)) == (3, 3)


def test_a_kind_that_refuses_the_order_rolls_everything_back(shops, probe):
    _listing, item = listed(shops.a, stock=3)
    probe.refuse_attach = True
    with tenant_context(shops.a):
        with pytest.raises(ValidationError, match="last unit"):
            order_place(wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item))
        assert not Order.objects.exists()


def test_a_campaign_price_outside_the_suppliers_bounds_never_prices_a_line(shops, probe):
    _listing, item = listed(shops.a, price=8800, stock=3)
    low = item.sku.min_retail_fen - 1
    with pytest.raises(ValidationError, match="supplier"):
        campaign_price_check(item=item, price_fen=low)
    with pytest.raises(ValidationError, match="above"):
        campaign_price_check(item=item, price_fen=item.retail_price_fen + 1)
    with tenant_context(shops.a), pytest.raises(ValueError, match="bounds"):
        order_place(wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item, price=low))


def test_an_unpaid_campaign_order_gives_its_units_to_the_campaign_not_the_sku(shops, probe):
    _listing, item = listed(shops.a, stock=3)
    with tenant_context(shops.a):
        expired = order_place(wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item))
        order_expire(order=Order.objects.get(pk=expired.pk))  # not due: nothing happens
        Order.objects.filter(pk=expired.pk).update(pay_deadline=timezone.now())
        order_expire(order=Order.objects.get(pk=expired.pk))
        order_expire(order=Order.objects.get(pk=expired.pk))  # idempotent
        cancelled = order_place(wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item))
        order_cancel(order=cancelled)

    assert ("released", expired.number) in probe.calls
    assert ("released", cancelled.number) in probe.calls
    assert len([c for c in probe.calls if c[0] == "released"]) == 2
    assert stock(item.sku_id) == 3


def test_the_claims_own_pay_deadline_shortens_the_window(shops, probe):
    _listing, item = listed(shops.a, stock=3)
    soon = timezone.now() + timedelta(minutes=5)
    with tenant_context(shops.a):
        order = order_place(
            wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item, pay_deadline=soon)
        )
    assert order.pay_deadline == soon


def test_a_kind_may_hold_the_supplier_orders_until_it_calls_order_fulfil(shops, probe):
    _listing, item = listed(shops.a, price=8800, stock=3)
    probe.hold = True
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 1)], buyer=BUYER, campaign=claim_for(item))
        payment = order_payment_start(order=order, provider="sandbox", return_url="")
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        assert order_mark_paid(order_number=order.number, payment_id=payment.pk).status == "paid"
    connection.set_schema_to_public()
    assert not SupplierOrder.objects.filter(order_number=order.number).exists()
    with tenant_context(shops.a):
        order_fulfil(order_number=order.number)
        order_fulfil(order_number=order.number)  # idempotent
    connection.set_schema_to_public()
    made = SupplierOrder.objects.filter(order_number=order.number)
    assert made.count() == 1
    assert made.get().lines.get().retail_price_fen == 6000
    assert ("paid", order.number) in probe.calls
