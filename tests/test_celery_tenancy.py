"""Tasks run in the schema of the shop that sent them, on a real worker process."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from tenants.tasks import shop_health


def test_task_sent_from_a_shop_runs_in_that_shops_schema(shops, celery_worker):
    with tenant_context(shops.a):
        from_a = shop_health.delay()
    with tenant_context(shops.b):
        from_b = shop_health.delay()
    connection.set_schema_to_public()
    from_public = shop_health.delay()

    assert from_a.get(timeout=120) == {"schema": "shop_a", "site": "a.localhost"}
    assert from_b.get(timeout=60) == {"schema": "shop_b", "site": "b.localhost"}
    assert from_public.get(timeout=60) == {"schema": "public", "site": None}
