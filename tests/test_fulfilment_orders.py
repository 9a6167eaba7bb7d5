"""Supplier orders: one per supplier of a paid order, shipped and delivered, the buyer told."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import override
from django_tenants.utils import tenant_context

from billing.fulfilment import services
from billing.fulfilment.models import (
    BuyerNotice,
    FulfilmentEvent,
    SupplierOrder,
    SupplierOrderLine,
)
from billing.fulfilment.selectors import supplier_orders_for_order, supplier_to_ship
from billing.fulfilment.tasks import fulfilment_notice_task
from billing.fulfilment.testing import SHIP_TO, Item, order_paid
from catalog.testing import first_sku, product_make
from tests.storefront_helpers import order_contact_make

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def goods(catalog_media):
    tea = product_make(title="龙井茶")
    bowl = product_make(title="青瓷碗")
    return first_sku(tea), first_sku(bowl)


def test_a_two_supplier_order_splits_into_one_supplier_order_each(shops, goods):
    tea, bowl = goods
    _payment, orders, refs = order_paid(
        tenant=shops.a,
        items=[
            Item(tea, 2, 9990, shipping_fen=800),
            Item(bowl, 3, 8000),
            Item(tea.product.skus.order_by("id")[1], 1, 9000),
        ],
    )

    assert len(orders) == 2
    by_supplier = {so.supplier_id: so for so in orders}
    tea_order = by_supplier[tea.product.supplier_id]
    bowl_order = by_supplier[bowl.product.supplier_id]
    assert sorted(line.line_ref for line in tea_order.lines.all()) == [refs[0], refs[2]]
    assert [(ln.line_ref, ln.quantity) for ln in bowl_order.lines.all()] == [(refs[1], 3)]
    assert tea_order.status == SupplierOrder.Status.TO_SHIP
    assert (tea_order.recipient, tea_order.city, tea_order.street) == (
        "李小红",
        "杭州市",
        SHIP_TO.street,
    )
    # Each line carries its capture shares: supply + fee + commission = retail, to the fen.
    for line in [*tea_order.lines.all(), *bowl_order.lines.all()]:
        assert line.supply_price_fen * line.quantity + line.fee_fen + line.commission_fen == (
            line.retail_price_fen * line.quantity
        )
    assert list(supplier_to_ship(tea.product.supplier)) == [tea_order]
    assert list(supplier_to_ship(bowl.product.supplier)) == [bowl_order]
    assert set(supplier_orders_for_order(tenant=shops.a, order_number=tea_order.order_number)) == {
        tea_order,
        bowl_order,
    }


def test_handing_an_order_over_twice_returns_the_same_rows(shops, goods):
    tea, bowl = goods
    payment, orders, _refs = order_paid(
        tenant=shops.a, items=[Item(tea, 1, 9000), Item(bowl, 1, 8000)]
    )
    lines = _handover(payment, orders).lines

    again = services.supplier_orders_create(
        tenant=shops.a,
        order_number=payment.order_number,
        payment=payment,
        ship_to=SHIP_TO,
        lines=lines,
    )

    assert [so.pk for so in again] == [so.pk for so in orders]
    assert SupplierOrder.objects.filter(order_number=payment.order_number).count() == 2
    assert sum(so.lines.count() for so in again) == 2


def test_lines_whose_shares_do_not_add_up_are_refused(shops, goods):
    tea, _bowl = goods
    payment, orders, _refs = order_paid(tenant=shops.a, items=[Item(tea, 1, 9000)])
    line = orders[0].lines.get()
    bad = services.FulfilmentLine(
        line_ref=line.line_ref + 10_000,
        sku_id=line.sku_id,
        supplier_id=orders[0].supplier_id,
        title="x",
        option_label="",
        quantity=1,
        retail_price_fen=9000,
        supply_price_fen=line.supply_price_fen,
        shipping_fen=0,
        fee_fen=line.fee_fen + 1,  # one fen too many
        commission_fen=line.commission_fen,
    )

    with pytest.raises(ValidationError, match="not supply \\+ fee \\+ commission"):
        services.supplier_orders_create(
            tenant=shops.a,
            order_number=payment.order_number,
            payment=payment,
            ship_to=SHIP_TO,
            lines=[bad],
        )
    with pytest.raises(ValidationError, match="not for order"):
        services.supplier_orders_create(
            tenant=shops.b,
            order_number=payment.order_number,
            payment=payment,
            ship_to=SHIP_TO,
            lines=[replace(bad, fee_fen=line.fee_fen)],
        )


def notices(callbacks) -> list[tuple[str, ...]]:
    """The buyer notices among on-commit CALLBACKS: their steps."""
    return [
        tuple(c.args[1:])
        for c in callbacks
        if getattr(getattr(c, "func", None), "__name__", "") == "_notice_enqueue"
    ]


def test_ship_and_deliver_move_the_order_and_email_the_buyer_each_step(
    shops, goods, mailoutbox, django_capture_on_commit_callbacks
):
    tea, _bowl = goods
    number = order_contact_make(shops.a, email="buyer-ship@example.com")
    _payment, [so], _refs = order_paid(
        tenant=shops.a, items=[Item(tea, 2, 9990)], order_number=number
    )
    supplier = tea.product.supplier

    with django_capture_on_commit_callbacks() as shipped_callbacks:
        services.supplier_order_ship(
            supplier_order=so, supplier=supplier, carrier="顺丰速运", tracking_number="SF1234567890"
        )
    # The buyer's notice is queued only once the step is committed (the shop's order.shipped
    # webhook is another callback).
    assert notices(shipped_callbacks) == [("shipped",)]
    with override("en"):
        assert services.fulfilment_notice_send(supplier_order_id=so.pk, step="shipped") is True
    so.refresh_from_db()
    assert so.status == SupplierOrder.Status.SHIPPED
    assert (so.carrier, so.tracking_number) == ("顺丰速运", "SF1234567890")
    assert mailoutbox[-1].to == ["buyer-ship@example.com"]
    assert "SF1234567890" in mailoutbox[-1].body
    assert number in mailoutbox[-1].subject

    with django_capture_on_commit_callbacks() as delivered_callbacks:
        services.supplier_order_deliver(supplier_order=so, supplier=supplier)
    assert notices(delivered_callbacks) == [("delivered",)]
    # The task as the worker runs it: sent from the shop, so in the shop's schema.
    with tenant_context(shops.a), override("en"):
        result = fulfilment_notice_task.apply(
            kwargs={"supplier_order_id": so.pk, "step": "delivered"}
        )
    assert result.get() is True
    so.refresh_from_db()
    assert so.status == SupplierOrder.Status.DELIVERED
    assert so.returns_close_at == so.delivered_at + timedelta(days=7)
    assert "delivered" in mailoutbox[-1].subject
    assert "return goods without giving a reason until" in mailoutbox[-1].body

    # A step is told once, however often its task runs.
    assert services.fulfilment_notice_send(supplier_order_id=so.pk, step="delivered") is False
    assert len(mailoutbox) == 2
    assert BuyerNotice.objects.filter(supplier_order=so).count() == 2
    assert list(
        FulfilmentEvent.objects.filter(supplier_order=so).values_list("action", flat=True)
    ) == [
        "ship",
        "deliver",
    ]


def test_illegal_moves_are_refused_with_a_reason(shops, goods):
    tea, bowl = goods
    _payment, [so], _refs = order_paid(tenant=shops.a, items=[Item(tea, 1, 9000)])
    mine, other = tea.product.supplier, bowl.product.supplier

    with override("en"):
        with pytest.raises(ValidationError, match="Only a shipped order can be delivered"):
            services.supplier_order_deliver(supplier_order=so, supplier=mine)
        with pytest.raises(ValidationError, match="not yours"):
            services.supplier_order_ship(
                supplier_order=so, supplier=other, carrier="EMS", tracking_number="EMS123456"
            )
        with pytest.raises(ValidationError) as bad:
            services.supplier_order_ship(
                supplier_order=so, supplier=mine, carrier="", tracking_number="12"
            )
        assert set(bad.value.message_dict) == {"carrier", "tracking_number"}

        services.supplier_order_ship(
            supplier_order=so, supplier=mine, carrier="EMS", tracking_number="EMS123456"
        )
        # The same form sent twice changes nothing; another tracking number is refused.
        services.supplier_order_ship(
            supplier_order=so, supplier=mine, carrier="EMS", tracking_number="EMS123456"
        )
        with pytest.raises(ValidationError, match="Only an order waiting to be shipped"):
            services.supplier_order_ship(
                supplier_order=so, supplier=mine, carrier="EMS", tracking_number="EMS999999"
            )
        with pytest.raises(ValidationError, match="not yours"):
            services.supplier_order_deliver(supplier_order=so, supplier=other)
        with pytest.raises(ValidationError, match="between shipping and now"):
            services.supplier_order_deliver(
                supplier_order=so, supplier=mine, delivered_at=timezone.now() + timedelta(days=1)
            )
    so.refresh_from_db()
    assert (so.status, so.tracking_number) == (SupplierOrder.Status.SHIPPED, "EMS123456")
    assert FulfilmentEvent.objects.filter(supplier_order=so, action="ship").count() == 1


def test_a_buyer_without_an_email_is_not_emailed(shops, goods, mailoutbox):
    tea, _bowl = goods
    _payment, [so], _refs = order_paid(tenant=shops.a, items=[Item(tea, 1, 9000)])  # no order row

    assert services.fulfilment_notice_send(supplier_order_id=so.pk, step="shipped") is False
    assert mailoutbox == []


def _handover(payment, orders) -> services.FulfilmentOrder:
    """What the shop would hand over again for PAYMENT's order, from its supplier orders."""
    lines = [
        services.FulfilmentLine(
            line_ref=ln.line_ref,
            sku_id=ln.sku_id,
            supplier_id=so.supplier_id,
            title=ln.title,
            option_label=ln.option_label,
            quantity=ln.quantity,
            retail_price_fen=ln.retail_price_fen,
            supply_price_fen=ln.supply_price_fen,
            shipping_fen=ln.shipping_fen,
            fee_fen=ln.fee_fen,
            commission_fen=ln.commission_fen,
            return_days=ln.return_days,
        )
        for so in orders
        for ln in so.lines.all()
    ]
    return services.FulfilmentOrder(payment.order_number, payment, SHIP_TO, lines)


def test_many_orders_handed_over_at_once_each_get_theirs_and_only_subscribers_hear(shops, goods):
    from billing.supplierapi.models import SupplierDelivery, SupplierWebhook

    tea, bowl = goods
    SupplierWebhook.objects.create(
        supplier_id=bowl.product.supplier_id,
        url="http://127.0.0.1:9/hook",
        events=["supplier_order.created"],
        secret="s" * 32,
    )
    first = order_paid(tenant=shops.a, items=[Item(tea, 1, 9000), Item(bowl, 2, 8000)])
    second = order_paid(tenant=shops.a, items=[Item(bowl, 1, 8000)])
    handed = [_handover(first[0], first[1]), _handover(second[0], second[1])]
    SupplierDelivery.objects.all().delete()
    SupplierOrderLine.objects.all().delete()  # as if never handed over: the batch makes them
    SupplierOrder.objects.all().delete()

    made = services.supplier_orders_create_many(tenant=shops.a, orders=handed)

    assert [so.supplier_id for so in made[first[0].order_number]] == sorted(
        [tea.product.supplier_id, bowl.product.supplier_id]
    )
    assert [so.supplier_id for so in made[second[0].order_number]] == [bowl.product.supplier_id]
    assert [ln.quantity for ln in made[second[0].order_number][0].lines.all()] == [1]
    # The bowl's supplier subscribed: one delivery per supplier order of hers; the tea's none.
    heard = SupplierDelivery.objects.values_list("event_id", flat=True)
    bowls = [
        so for sos in made.values() for so in sos if so.supplier_id == bowl.product.supplier_id
    ]
    assert sorted(heard) == sorted(f"supplier_order.created:{so.pk}" for so in bowls)
    again = services.supplier_orders_create_many(tenant=shops.a, orders=[handed[1]])
    assert [so.pk for so in again[second[0].order_number]] == [
        so.pk for so in made[second[0].order_number]
    ]
    assert SupplierDelivery.objects.count() == 2


def test_one_bad_order_in_a_batch_and_none_is_handed_over(shops, goods):
    tea, _bowl = goods
    good = order_paid(tenant=shops.a, items=[Item(tea, 1, 9000)])
    other = order_paid(tenant=shops.a, items=[Item(tea, 2, 9000)])
    fine, bad = _handover(good[0], good[1]), _handover(other[0], other[1])
    bad = replace(bad, lines=[replace(bad.lines[0], fee_fen=bad.lines[0].fee_fen + 1)])
    SupplierOrderLine.objects.all().delete()
    SupplierOrder.objects.all().delete()

    with pytest.raises(ValidationError, match="not supply \\+ fee \\+ commission"):
        services.supplier_orders_create_many(tenant=shops.a, orders=[fine, bad])
    assert not SupplierOrder.objects.exists()
