"""Demo history for a shop's dashboard: paid orders spread over the last DAYS days.

Every order goes through the shop's own services (order_place prices it through
storefront/pricing.py, order_mark_paid posts the capture to the ledger and hands the goods to
the suppliers), so the books, the supplier portal and the platform view agree with the
dashboard. Orders older than two weeks are also shipped and delivered through fulfilment's
services, as a supplier would have done.

Bounded (at most MAX_ORDERS a shop) so `make run` stays quick, deterministic per shop (seeded by
its schema name), and idempotent: a shop that already has demo buyers' orders is left alone.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.services import supplier_order_deliver, supplier_order_ship
from billing.fulfilment.testing import payment_captured_sandbox
from billing.models import Payment
from catalog.services.stock import sku_stock_release
from storefront.models import Fan, ListingItem, Order
from storefront.orders.services import Buyer, Want, order_mark_paid, order_place

logger = logging.getLogger(__name__)

MAX_ORDERS = 150
FANS = 80
# Demo buyers' mobiles: 199 0000 xxxx, never a real subscriber's number in the demo.
MOBILE_PREFIX = "1990000"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("小红", "婷婷", "丽娟", "晓燕", "静", "敏", "芳", "雪", "佳怡", "欣然")
PLACES = (
    ("浙江省", "杭州市", "西湖区"),
    ("广东省", "深圳市", "南山区"),
    ("上海市", "上海市", "浦东新区"),
    ("北京市", "北京市", "朝阳区"),
    ("四川省", "成都市", "武侯区"),
    ("江苏省", "南京市", "鼓楼区"),
)
DELIVERED_AFTER_DAYS = 14


def _buyer(rng: random.Random, n: int) -> Buyer:
    mobile = f"{MOBILE_PREFIX}{n:04d}"
    province, city, district = PLACES[n % len(PLACES)]
    return Buyer(
        mobile=mobile,
        email="",
        recipient=SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)],
        recipient_phone=mobile,
        province=province,
        city=city,
        district=district,
        street=f"幸福路 {rng.randint(1, 300)} 号 {rng.randint(1, 30)} 幢 {rng.randint(101, 2602)}",
    )


def _orders_per_day(rng: random.Random, days: int) -> list[int]:
    """A growing shop: fewer orders long ago, more lately, busier at weekends; ≤ MAX_ORDERS."""
    today = timezone.localdate()
    counts = []
    for ago in range(days - 1, -1, -1):
        day = today - timedelta(days=ago)
        base = 0.5 + 2.0 * (days - ago) / days
        if day.weekday() >= 5:
            base *= 1.4
        counts.append(max(0, int(rng.gauss(base, 1.0) + 0.5)))
    while sum(counts) > MAX_ORDERS:
        counts[counts.index(max(counts))] -= 1
    return counts  # oldest first


def demo_orders_seed(*, shop, days: int = 90) -> int:
    """Seed SHOP with paid orders over the last DAYS days; returns how many were made (0 when
    the shop already has them, or has nothing on sale)."""
    with tenant_context(shop):
        if Order.objects.filter(contact_mobile__startswith=MOBILE_PREFIX).exists():
            demo_fans_joined()  # a shop seeded before join dates were spread gets them now
            return 0
        items = [
            item
            for item in ListingItem.objects.select_related("listing", "sku__product").filter(
                listing__is_active=True, price_flagged=False
            )
            if item.is_available
        ]
        if not items:
            logger.info("demo orders: %s has nothing on sale", shop.schema_name)
            return 0
        # Demo data, not secrets: a seeded generator makes the same history every time.
        rng = random.Random(f"demo-orders:{shop.schema_name}")  # noqa: S311
        # A few favourites sell most, as in a real shop.
        weights = [1.0 / (rank + 1) for rank in range(len(items))]
        # Some fans come back: a small loyal circle makes most repeat orders.
        fan_weights = [3.0 if n < FANS // 5 else 1.0 for n in range(FANS)]
        made = 0
        today = timezone.localdate()
        for offset, count in enumerate(_orders_per_day(rng, days)):
            day = today - timedelta(days=days - 1 - offset)
            for _ in range(count):
                item = rng.choices(items, weights)[0]
                fan_n = rng.choices(range(FANS), fan_weights)[0]
                at = datetime.combine(day, time(rng.randint(8, 22), rng.randint(0, 59)))
                at = timezone.make_aware(at)
                if at > timezone.now():
                    at = timezone.now() - timedelta(minutes=rng.randint(1, 30))
                if _order_paid(shop, item, _buyer(rng, fan_n), rng.choice([1, 1, 1, 2, 3]), at):
                    made += 1
        demo_fans_joined()
        return made


def demo_fans_joined() -> int:
    """Each demo buyer joined the shop shortly before her first order, not on the day the demo
    was seeded (the fan list's 加入于 and the "new" segment read it). Run in the shop's schema;
    idempotent (a fan who already joined before her first order is left as she is)."""
    fans, orders = Fan._meta.db_table, Order._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {fans} f SET created_at = o.first - interval '10 minutes'
              FROM (SELECT fan_id, min(created_at) AS first FROM {orders} GROUP BY fan_id) o
             WHERE o.fan_id = f.id AND f.mobile LIKE %s AND f.created_at > o.first
            """,  # noqa: S608 (the models' own table names; the value is a parameter)
            [f"{MOBILE_PREFIX}%"],
        )
        return cursor.rowcount


def _order_paid(shop, item: ListingItem, buyer: Buyer, quantity: int, at: datetime) -> bool:
    with transaction.atomic():
        try:
            order = order_place(wants=[Want(item.pk, quantity)], buyer=buyer)
        except ValidationError as error:  # sold out or over a limit: the demo skips it
            logger.info("demo orders: skipped an order (%s)", error)
            return False
        payment = payment_captured_sandbox(
            tenant=shop, amount=order.total_fen, order_number=order.number
        )
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        # The demo's history predates today's stock: give the units back so the demo goods
        # stay on sale.
        for line in order.lines.all():
            sku_stock_release(sku_id=line.sku_id, quantity=line.quantity)
        # When it happened: the rows' own times (the ledger's entries keep their posting time:
        # they are append-only by design).
        Order.objects.filter(pk=order.pk).update(
            created_at=at - timedelta(minutes=3),
            paid_at=at,
            pay_deadline=at + timedelta(minutes=27),
        )
        Payment.objects.filter(pk=payment.pk).update(
            created_at=at - timedelta(minutes=2), captured_at=at, expires_at=at
        )
        SupplierOrder.objects.filter(payment=payment).update(created_at=at)
        if timezone.now() - at > timedelta(days=DELIVERED_AFTER_DAYS):
            for so in SupplierOrder.objects.select_related("supplier").filter(payment=payment):
                so = supplier_order_ship(
                    supplier_order=so,
                    supplier=so.supplier,
                    carrier="顺丰速运",
                    tracking_number=f"SF{so.pk:010d}",
                )
                SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=at + timedelta(days=1))
                so.refresh_from_db()
                supplier_order_deliver(supplier_order=so, delivered_at=at + timedelta(days=3))
    return True
