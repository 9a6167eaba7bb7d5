"""Shared makers for storefront tests: a listed product in a shop, a buyer, an order."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import supplier_order_deliver, supplier_order_ship
from billing.fulfilment.testing import SHIP_TO
from billing.models import Payment
from catalog.testing import first_sku, product_make, terms
from storefront.models import Fan, ListingItem, Order
from storefront.orders.services import Buyer, order_mark_paid
from storefront.services import listing_create

from .payments_helpers import post_notification

BUYER = Buyer(
    mobile="13800138000",
    email="",
    recipient="王小明",
    recipient_phone="13800138000",
    province="浙江",
    city="杭州市",
    district="西湖区",
    street="文三路 100 号 1 幢 101 室",
)


def listed(shop, *, price: int = 8800, stock: int = 10, skus: int = 1, supplier=None, **kw):
    """A vetted product listed in SHOP at PRICE fen; returns (listing, first item)."""
    product = product_make(
        skus=skus, stock=stock, supplier=supplier, price_terms=kw.pop("price_terms", terms())
    )
    with tenant_context(shop):
        listing = listing_create(
            product=product,
            title=kw.get("title", "宝妈推荐好物"),
            copy="<p>我家在用</p>",
            prices={s.pk: price for s in product.skus.all()},
        )
        item = ListingItem.objects.select_related("sku").get(
            listing=listing, sku=first_sku(product)
        )
    return listing, item


def order_contact_make(tenant, *, email: str, number: str | None = None) -> str:
    """A shop order row with the buyer's e-mail, as checkout leaves it (what the buyer e-mails
    read through storefront.orders.selectors.order_contact); returns its number."""
    number = number or uuid.uuid4().hex[:16].upper()
    with tenant_context(tenant):
        fan = Fan.objects.create(email=email)
        Order.objects.create(
            number=number,
            status=Order.Status.PAID,
            fan=fan,
            contact_email=email,
            recipient=SHIP_TO.recipient,
            recipient_phone=SHIP_TO.phone,
            province=SHIP_TO.province,
            city=SHIP_TO.city,
            district=SHIP_TO.district,
            street=SHIP_TO.street,
            goods_fen=1,
            shipping_fen=0,
            total_fen=1,
            pay_deadline=timezone.now() + timedelta(minutes=30),
            paid_at=timezone.now(),
        )
    return number


ADDRESS = {
    "contact": "138 0013 8000",
    "recipient": "王小明",
    "recipient_phone": "13800138000",
    "province": "浙江",
    "city": "杭州市",
    "district": "西湖区",
    "street": "文三路 100 号",
}


def buy_now(client, item, quantity: int = 1, extra: dict | None = None, **fields):
    added = client.post("/cart/add/", {"item": item.pk, "quantity": quantity, "buy_now": "1"})
    assert added.status_code == 302 and added["Location"] == "/checkout/?now=1"
    return client.post("/checkout/?now=1", {**ADDRESS, **fields, **(extra or {})})


def paid_order(shops, shop_client, *, quantity: int = 2):

    _listing, item = listed(shops.a, price=8800, stock=10)
    buyer = shop_client("a.localhost")
    buy_now(buyer, item, quantity=quantity, contact="mum@example.com")
    with tenant_context(shops.a):
        order = Order.objects.get(lines__item=item)
    connection.set_schema_to_public()
    payment = Payment.objects.get(tenant=shops.a, order_number=order.number)
    assert post_notification(payment).status_code == 200
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        line = order.lines.get()
    connection.set_schema_to_public()
    return buyer, order, line


def ship_and_deliver(order, *, days_ago: int = 1) -> SupplierOrder:
    so = SupplierOrder.objects.get(order_number=order.number)
    so = supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF1234567890"
    )
    # As if shipped the day before delivery: delivery must come after shipping.
    SupplierOrder.objects.filter(pk=so.pk).update(
        shipped_at=timezone.now() - timedelta(days=days_ago + 1)
    )
    so.refresh_from_db()
    return supplier_order_deliver(
        supplier_order=so, delivered_at=timezone.now() - timedelta(days=days_ago)
    )
