"""Unpaid orders expire: the minute sweep and every other beat task, run as beat runs them, with
the platform tenant (schema public), the shop template and a pooled schema all present."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU
from config.celery import app
from storefront.models import Order
from storefront.orders.services import Want, order_place, schemas_with_orders_due
from storefront.tasks import orders_expire_sweep_task
from tenants.models import Tenant
from tenants.provisioning import pool_refill
from tenants.selectors import shops as live_shops

from .storefront_helpers import BUYER, listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


@pytest.fixture
def pooled_schema(committed_db) -> Iterator[str]:
    """One committed schema in the warm pool (beat sees it), dropped again afterwards."""
    before = set(Tenant.objects.filter(state=Tenant.State.POOLED).values_list("pk", flat=True))
    assert pool_refill(size=len(before) + 1) == 1
    made = Tenant.objects.filter(state=Tenant.State.POOLED).exclude(pk__in=before).get()
    yield made.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{made.schema_name}" CASCADE')
    Tenant.objects.filter(pk=made.pk).delete()


@pytest.fixture
def shop_b_suspended(shops, committed_db) -> Iterator[Tenant]:
    """Shop b suspended for the test: its unpaid orders still hold stock everyone sells."""
    Tenant.objects.filter(pk=shops.b.pk).update(state=Tenant.State.SUSPENDED)
    try:
        yield Tenant.objects.get(pk=shops.b.pk)
    finally:
        Tenant.objects.filter(pk=shops.b.pk).update(state=Tenant.State.ACTIVE)


def _due_order(shop: Tenant, item, quantity: int) -> Order:
    """An unpaid order in SHOP whose time to pay has just run out (committed)."""
    with tenant_context(shop):
        order = order_place(wants=[Want(item.pk, quantity)], buyer=BUYER)
        Order.objects.filter(pk=order.pk).update(pay_deadline=timezone.now() - timedelta(seconds=1))
    connection.set_schema_to_public()
    return order


def _status(shop: Tenant, order: Order) -> str:
    with tenant_context(shop):
        return Order.objects.get(pk=order.pk).status


def test_live_shops_are_the_shops_only(shops, db):
    """The one selector every per-shop loop uses: no platform, no template, no pool; suspended
    shops are in."""
    Tenant.objects.create(schema_name="pool_selector1", name="", state=Tenant.State.POOLED)
    Tenant.objects.create(schema_name="shop_paused", name="停业", state=Tenant.State.SUSPENDED)
    live = set(live_shops().values_list("schema_name", flat=True))

    assert {"shop_a", "shop_b", "shop_paused"} <= live
    assert not live & {"public", settings.VSTORE_TEMPLATE_SCHEMA, "pool_selector1"}
    assert Tenant.objects.filter(schema_name="public").exists()
    assert Tenant.objects.filter(schema_name=settings.VSTORE_TEMPLATE_SCHEMA).exists()


def test_the_minute_sweep_expires_unpaid_orders_and_returns_their_stock(
    shops, pooled_schema, shop_b_suspended
):
    _listing, item_a = listed(shops.a, stock=5)
    _listing, item_b = listed(shops.b, stock=4)
    late_a = _due_order(shops.a, item_a, 2)
    late_b = _due_order(shops.b, item_b, 3)  # in a suspended shop
    with tenant_context(shops.a):
        in_time = order_place(wants=[Want(item_a.pk, 1)], buyer=BUYER)
    connection.set_schema_to_public()
    assert (stock(item_a.sku_id), stock(item_b.sku_id)) == (2, 1)

    # As beat sends it: from the public schema, no arguments.
    result = orders_expire_sweep_task.apply()

    assert result.successful(), result.traceback
    assert result.get() >= 2
    assert _status(shops.a, late_a) == Order.Status.EXPIRED
    assert _status(shops.b, late_b) == Order.Status.EXPIRED
    assert _status(shops.a, in_time) == Order.Status.PENDING_PAYMENT
    assert (stock(item_a.sku_id), stock(item_b.sku_id)) == (4, 4)
    # Run again (beat, next minute): nothing more is given back.
    assert orders_expire_sweep_task.apply().successful()
    assert (stock(item_a.sku_id), stock(item_b.sku_id)) == (4, 4)


def test_the_sweep_visits_only_shops_with_orders_due(shops, pooled_schema):
    _listing, item = listed(shops.a, stock=5)
    _due_order(shops.a, item, 1)
    schemas = [t.schema_name for t in live_shops()]

    assert "shop_a" in schemas_with_orders_due(schemas=schemas)
    assert orders_expire_sweep_task.apply().successful()
    assert "shop_a" not in schemas_with_orders_due(schemas=schemas)


def test_the_sweep_on_a_real_worker_expires_the_order(shops, pooled_schema, celery_worker):
    _listing, item = listed(shops.a, stock=3)
    late = _due_order(shops.a, item, 2)

    sent = orders_expire_sweep_task.apply_async(ignore_result=False)

    assert sent.get(timeout=120) >= 1
    assert _status(shops.a, late) == Order.Status.EXPIRED
    assert stock(item.sku_id) == 3


def test_every_beat_task_runs_cleanly_beside_the_platform_template_and_pool(
    shops, pooled_schema, shop_b_suspended
):
    """Audit: each scheduled task, sent as beat sends it (public schema, no arguments), succeeds
    with every kind of tenant row present; what a task queues runs too (eagerly)."""
    app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            connection.set_schema_to_public()
            result = app.tasks[entry["task"]].apply()
            assert result.successful(), f"{name}: {result.traceback}"
    finally:
        app.conf.task_always_eager = eager
