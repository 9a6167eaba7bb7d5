"""How fast a creator gets a live shop, and whether it stays fast as shops pile up.

    make bench                      (all benchmarks), or
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/provisioning.py [--max-shops N]

Works in its own database (vstore_bench, dropped and made anew) on the server DATABASE_URL
names, so the demo data is untouched. Prints, each a median of --repeat runs:

- sign-up through the real form (POST /signup/ → redirect into the new shop's admin) with the
  warm pool, and with the pool empty (template clone);
- the provisioning step alone for the pool, the clone and django-tenants' default (CREATE SCHEMA
  and run every migration), and the ratios between them;
- the same pool and clone sign-ups with 10, 100 and 500 shops already there;
- a no-op deploy-time migration (`migrate_shops`) against plain `migrate_schemas`, at 100 and
  500 shops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def bench_database_url() -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    dsn = admin.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS vstore_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE vstore_bench")
    return urlunsplit(url._replace(path="/vstore_bench"))


def setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["VSTORE_POOL_SIZE"] = "0"  # the benchmark fills the pool itself, untimed
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["VSTORE_CACHE_PREFIX"] = "vstore-bench"
    # Another Redis database: a `make run` worker must not pick up the bench's refill tasks.
    redis = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(redis._replace(path="/15"))
    import django

    django.setup()


def median_of(fn, repeat: int) -> float:
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Bench:
    def __init__(self, repeat: int) -> None:
        from django.test import Client

        self.repeat = repeat
        self.seq = 0
        self.client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")

    def name(self, kind: str) -> str:
        self.seq += 1
        return f"{kind}{self.seq}"

    def signup_http(self, _i: int) -> None:
        sub = self.name("form")
        response = self.client.post(
            "/signup/",
            {
                "shop_name": f"Bench {sub}",
                "subdomain": sub,
                "contact": f"{sub}@bench.example",
                "password1": "Bench-Password-2026",
                "password2": "Bench-Password-2026",
                "theme": "ink",
            },
        )
        assert response.status_code == 302, response.content[:500]

    def provision(self, _i: int) -> None:
        from tenants.provisioning import shop_provision

        shop_provision(name="Bench", subdomain=self.name("svc"))

    def migrate_default(self, _i: int) -> None:
        """django-tenants' default: a new schema gets every migration run on it."""
        from django.core.management import call_command
        from django.db import connection

        from tenants.models import Domain, Tenant

        sub = self.name("mig")
        schema = f"shop_{sub}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
        tenant = Tenant.objects.create(schema_name=schema, name="Bench")
        Domain.objects.create(domain=f"{sub}.localhost", tenant=tenant, is_primary=True)

    def with_pool(self, fn) -> float:
        from django.db import connection

        from tenants.provisioning import pool_refill

        pool_refill(size=self.repeat)
        # Refills run in Celery workers, not on the web worker's connection; a connection that
        # has just created schemas carries their catalog caches into the timed sign-ups.
        connection.close()
        return median_of(fn, self.repeat)

    def without_pool(self, fn) -> float:
        from tenants.models import Tenant

        assert not Tenant.objects.filter(state=Tenant.State.POOLED).exists()
        return median_of(fn, self.repeat)


def shops_grow_to(target: int) -> None:
    """Add plain clones until TARGET shops exist, printing progress."""
    from tenants.models import Tenant
    from tenants.provisioning import _clone_template

    existing = Tenant.objects.filter(state=Tenant.State.ACTIVE).count()
    started = time.perf_counter()
    for n in range(existing, target):
        schema = f"shop_filler{n}"
        _clone_template(schema)
        Tenant.objects.create(schema_name=schema, name=f"Filler {n}")
        if (n + 1) % 50 == 0:
            print(f"    {n + 1}/{target} shops ({time.perf_counter() - started:.0f} s)", flush=True)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-shops", type=int, default=500)
    parser.add_argument(
        "--skip-baselines",
        action="store_true",
        help="skip the slow baselines (migrate default, plain migrate_schemas) for a quick run",
    )
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection

    from tenants.provisioning import template_ensure
    from tenants.services import platform_ensure

    print("setting up the bench database…", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    platform_ensure()
    template_ensure()
    b = Bench(args.repeat)
    # Warm-up, untimed: the first sign-up in a process loads the migration graph, templates and
    # password lists, which a running web worker has long done.
    b.with_pool(b.signup_http)
    b.without_pool(b.signup_http)

    print(f"\nSign-up to live shop, median of {args.repeat} (seconds)")
    form_pool = b.with_pool(b.signup_http)
    form_clone = b.without_pool(b.signup_http)
    svc_pool = b.with_pool(b.provision)
    svc_clone = b.without_pool(b.provision)
    svc_migrate = b.without_pool(b.migrate_default) if not args.skip_baselines else float("nan")
    print(f"  sign-up form, warm pool         {form_pool:8.3f}")
    print(f"  sign-up form, template clone    {form_clone:8.3f}")
    print(f"  provisioning, warm pool         {svc_pool:8.3f}")
    print(f"  provisioning, template clone    {svc_clone:8.3f}")
    print(f"  provisioning, migrate (default) {svc_migrate:8.3f}")
    print(f"  migrate / clone                 {svc_migrate / svc_clone:8.1f}x")
    print(f"  migrate / pool                  {svc_migrate / svc_pool:8.1f}x")
    print(f"  migrate / sign-up form (pool)   {svc_migrate / form_pool:8.1f}x")

    print("\nWith shops already there (sign-up form; seconds, median)")
    rows = []
    for count in (10, 100, 500):
        if count > args.max_shops:
            break
        shops_grow_to(count)
        # A web worker signing a creator up has not just created hundreds of schemas on its
        # connection; start afresh so the filler's catalog caches do not bill the sign-ups.
        connection.close()
        pool = b.with_pool(b.signup_http)
        clone = b.without_pool(b.signup_http)
        rows.append((count, pool, clone))
        print(f"  {count:4d} shops: warm pool {pool:7.3f}   clone {clone:7.3f}", flush=True)
        if count in (100, 500) and not args.skip_baselines:
            fast = timed(lambda: call_command("migrate_shops", verbosity=0))
            plain = timed(lambda: call_command("migrate_schemas", interactive=False, verbosity=0))
            print(
                f"  {count:4d} shops: no-op migrate_shops {fast:7.2f} s, "
                f"migrate_schemas {plain:7.2f} s, ratio {plain / fast:5.1f}x",
                flush=True,
            )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"\n  {last[0]} vs {first[0]} shops: warm pool {last[1] / first[1]:.2f}x, "
            f"clone {last[2] / first[2]:.2f}x"
        )


if __name__ == "__main__":
    main()
