"""Shops come from the warm pool or a template clone, whole or not at all."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django_tenants.utils import schema_exists, tenant_context
from wagtail.models import Site

from tenants import provisioning
from tenants.migration_state import stale_schemas, tenant_migration_plan
from tenants.models import Domain, ShopEvent, Tenant
from tenants.provisioning import pool_refill, repair, shop_provision

pytestmark = pytest.mark.django_db


def pooled() -> list[str]:
    return list(
        Tenant.objects.filter(state=Tenant.State.POOLED).values_list("schema_name", flat=True)
    )


def test_signup_takes_a_schema_from_the_warm_pool(shops):
    assert pool_refill(size=2) == 2
    waiting = pooled()

    tenant = shop_provision(name="Pool shop", subdomain="from-pool")

    assert tenant.schema_name == "shop_from_pool"
    assert schema_exists("shop_from_pool")
    assert len(pooled()) == 1
    taken = (set(waiting) - set(pooled())).pop()
    assert not schema_exists(taken)  # renamed, not copied
    with tenant_context(tenant):
        assert Site.objects.get().hostname == "from-pool.localhost"
    assert Domain.objects.get(tenant=tenant).domain == "from-pool.localhost"
    assert ShopEvent.objects.filter(tenant=tenant, action="created").count() == 1


def test_refill_tops_the_pool_up_and_no_further(shops):
    assert pool_refill(size=2) == 2
    assert pool_refill(size=2) == 0
    assert len(pooled()) == 2
    assert all(schema_exists(s) for s in pooled())


def test_empty_pool_falls_back_to_a_template_clone(shops):
    assert pooled() == []

    tenant = shop_provision(name="Clone shop", subdomain="by-clone")

    assert tenant.state == Tenant.State.ACTIVE
    assert schema_exists("shop_by_clone")
    assert stale_schemas(["shop_by_clone"]) == []


@pytest.mark.parametrize("step", ["_tenant_record", "_shop_personalise"])
def test_crash_midway_leaves_nothing_behind(shops, monkeypatch, step):
    pool_refill(size=1)
    waiting = pooled()

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(provisioning, step, crash)
    with pytest.raises(RuntimeError):
        shop_provision(name="Doomed", subdomain="doomed")

    assert not schema_exists("shop_doomed")
    assert not Tenant.objects.filter(schema_name="shop_doomed").exists()
    assert not Domain.objects.filter(domain="doomed.localhost").exists()
    assert pooled() == waiting  # the pooled schema is back, under its old name
    assert all(schema_exists(s) for s in waiting)
    assert repair().dropped_schemas == []


def test_crash_with_an_empty_pool_leaves_nothing_behind(shops, monkeypatch):
    monkeypatch.setattr(provisioning, "_tenant_record", lambda *a, **k: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        shop_provision(name="Doomed", subdomain="doomed-clone")

    assert not schema_exists("shop_doomed_clone")
    assert not Tenant.objects.filter(schema_name="shop_doomed_clone").exists()


def test_repair_drops_orphan_schemas_and_pool_rows_without_schema(shops):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA shop_orphan")
        cursor.execute("CREATE SCHEMA pool_orphan")
    Tenant.objects.create(schema_name="pool_ghost", name="", state=Tenant.State.POOLED)
    Tenant.objects.create(schema_name="shop_lost", name="Lost", state=Tenant.State.ACTIVE)

    report = repair()

    assert report.dropped_schemas == ["pool_orphan", "shop_orphan"]
    assert report.removed_rows == ["pool_ghost"]
    assert report.shops_without_schema == ["shop_lost"]
    assert not schema_exists("shop_orphan")
    assert Tenant.objects.filter(schema_name="shop_lost").exists()  # reported, not deleted
    assert schema_exists("shop_a") and schema_exists("shop_b")


def test_pooled_schema_missing_a_migration_is_not_handed_out_until_migrated(shops):
    pool_refill(size=1)
    [waiting] = pooled()
    extra = {"cms": "tests.extra_migrations.cms"}
    try:
        with override_settings(MIGRATION_MODULES=extra):
            tenant_migration_plan.cache_clear()
            assert waiting in stale_schemas([waiting])

            first = shop_provision(name="Skips stale", subdomain="skips-stale")
            assert pooled() == [waiting]  # cloned instead
            assert first.schema_name == "shop_skips_stale"

            call_command("migrate_shops", verbosity=0)
            assert stale_schemas([waiting, "template_shop", "shop_a"]) == []
            with connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s)", [f"{waiting}.cms_deploy_probe"])
                assert cursor.fetchone()[0] is not None

            shop_provision(name="Gets pooled", subdomain="gets-pooled")
            assert pooled() == []
    finally:
        tenant_migration_plan.cache_clear()


def test_migrate_shops_reports_progress_and_skips_current_schemas(shops, capsys):
    call_command("migrate_shops")

    out = capsys.readouterr().out
    assert "0 to migrate" in out
    assert "up to date" in out


def test_two_signups_racing_for_one_subdomain_give_one_shop_and_one_error(shops, django_db_blocker):
    results: list[object] = []
    barrier = threading.Barrier(2)

    def attempt(n: int) -> None:
        try:
            barrier.wait()
            results.append(shop_provision(name=f"Racer {n}", subdomain="racer"))
        except ValidationError as error:
            results.append(error)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            shops_made = [r for r in results if isinstance(r, Tenant)]
            errors = [r for r in results if isinstance(r, ValidationError)]
            assert len(shops_made) == 1
            assert len(errors) == 1
            assert errors[0].code == "subdomain_taken"
            assert Tenant.objects.filter(schema_name="shop_racer").count() == 1
        finally:
            tenant = Tenant.objects.filter(schema_name="shop_racer").first()
            if tenant is not None:
                ShopEvent.objects.filter(tenant=tenant).delete()
                tenant.delete(force_drop=True)
