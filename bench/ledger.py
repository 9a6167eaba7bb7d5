"""How fast the ledger posts: one entry per transaction, and many entries per transaction.

    make bench                      (all benchmarks), or
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/ledger.py [--repeat N]

Works in its own database (vstore_bench_ledger, dropped and made anew) on the server
DATABASE_URL names, so the demo data is untouched. Every entry is a capture-shaped entry of four
postings (clearing, a supplier's payable, a creator's pending commission, platform revenue),
posted through the real services with every database check on (the deferred balance trigger,
the append-only triggers, unique idempotency keys). Prints, each a median of --repeat runs:

- single: `entry_post`, one transaction (one commit) per entry;
- batched: `entries_post_many`, --batch entries per transaction;
- the ratio; a baseline of bare one-row transactions (what a commit costs on this machine right
  now); how long the recomputation check and one balance query take afterwards.

Target (issue 6): at least 5,000 postings/s batched.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

DB_NAME = "vstore_bench_ledger"
POSTINGS_PER_ENTRY = 4


def bench_database_url() -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    dsn = admin.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(url._replace(path=f"/{DB_NAME}"))


def setup_django() -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["VSTORE_POOL_SIZE"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["VSTORE_CACHE_PREFIX"] = "vstore-bench-ledger"
    redis = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(redis._replace(path="/15"))
    import django

    django.setup()


class Bench:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from catalog.models import Supplier
        from tenants.models import Tenant

        self.seq = 0
        # A few real owners, so postings spread over accounts as real captures do.
        self.suppliers = []
        self.tenants = []
        for n in range(8):
            user = get_user_model().objects.create_user(username=f"bench-supplier-{n}")
            self.suppliers.append(
                Supplier.objects.create(
                    user=user,
                    company_name=f"Bench supplier {n}",
                    credit_code=f"BENCH{n:013d}",
                    contact_name="Bench",
                    contact_phone="13800000000",
                )
            )
            # A shop row is enough for the ledger (its schema is never touched here).
            self.tenants.append(Tenant.objects.create(schema_name=f"bench_{n}", name=f"Bench {n}"))

    def spec(self):
        from billing.ledger import AccountRef, EntrySpec

        self.seq += 1
        n = self.seq
        supplier = self.suppliers[n % len(self.suppliers)]
        tenant = self.tenants[n % len(self.tenants)]
        paid = 10_000 + n % 997
        supply, fee = paid * 6 // 10, paid // 20
        return EntrySpec(
            key=f"bench:{n}",
            lines=[
                (AccountRef.clearing("sandbox"), paid),
                (AccountRef.supplier_payable(supplier.pk), -supply),
                (AccountRef.commission_pending(tenant.pk), -(paid - supply - fee)),
                (AccountRef.platform_revenue(), -fee),
            ],
            memo="bench capture",
        )

    def single(self, entries: int) -> float:
        from billing.ledger import entry_post

        # Building the lines (and their validation) is part of posting: it is timed.
        started = time.perf_counter()
        for _ in range(entries):
            s = self.spec()
            entry_post(key=s.key, lines=s.lines, memo=s.memo)
        return time.perf_counter() - started

    def bare_commits(self, entries: int) -> float:
        """The baseline: one tiny INSERT a transaction, no ledger. A commit's cost (WAL flush)
        bounds single-entry posting; it moves with the machine's load, so it is measured here."""
        from django.db import connection, transaction

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial, n int)")
        started = time.perf_counter()
        for n in range(entries):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_commit (n) VALUES (%s)", [n])
        return time.perf_counter() - started

    def batched(self, batches: int, batch: int) -> float:
        from billing.ledger import entries_post_many

        started = time.perf_counter()
        for _ in range(batches):
            entries_post_many(entries=[self.spec() for _ in range(batch)])
        return time.perf_counter() - started


def median_rate(fn, repeat: int, postings: int) -> tuple[float, list[float]]:
    rates = [postings / fn() for _ in range(repeat)]
    return statistics.median(rates), rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--single", type=int, default=500, help="entries per single-entry run")
    parser.add_argument("--batch", type=int, default=1000, help="entries per transaction")
    parser.add_argument("--batches", type=int, default=5, help="transactions per batched run")
    parser.add_argument("--payout-creators", type=int, default=1000, help="0: skip payouts")
    parser.add_argument("--payout-via", choices=["worker", "threads"], default="worker")
    parser.add_argument("--settle-lines", type=int, default=100_000, help="0: skip settlement")
    parser.add_argument("--settle-workers", type=int, default=2, help="settlement shards")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command

    print("setting up the bench database…", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    b = Bench()
    # Warm-up, untimed: accounts made, code paths and the connection warm.
    b.single(50)
    b.batched(1, 200)

    bare, _runs = median_rate(lambda: b.bare_commits(args.single), args.repeat, args.single)
    single, single_runs = median_rate(
        lambda: b.single(args.single), args.repeat, args.single * POSTINGS_PER_ENTRY
    )
    batched, batched_runs = median_rate(
        lambda: b.batched(args.batches, args.batch),
        args.repeat,
        args.batches * args.batch * POSTINGS_PER_ENTRY,
    )

    from billing.ledger import AccountRef
    from billing.ledger_selectors import account_balance_for, balances_recompute_check
    from billing.models import Posting

    total = Posting.objects.count()
    started = time.perf_counter()
    problems = balances_recompute_check()
    check_s = time.perf_counter() - started
    started = time.perf_counter()
    account_balance_for(ref=AccountRef.clearing("sandbox"))
    balance_s = time.perf_counter() - started

    print(f"\nLedger posting, {POSTINGS_PER_ENTRY} postings an entry, median of {args.repeat}")
    print(
        f"  single  (1 entry a transaction, {args.single} entries a run) "
        f"{single:9,.0f} postings/s  ({single / POSTINGS_PER_ENTRY:,.0f} entries/s)"
    )
    print(
        f"  batched ({args.batch} entries a transaction, {args.batches} a run) "
        f"{batched:9,.0f} postings/s  ({batched / POSTINGS_PER_ENTRY:,.0f} entries/s)"
    )
    print(f"  batched / single {batched / single:8.1f}x   (target: batched >= 5,000 postings/s)")
    print(
        f"  baseline: bare one-row transactions {bare:,.0f}/s; single-entry posting runs at "
        f"{single / POSTINGS_PER_ENTRY / bare:.0%} of it"
    )
    print(f"  runs, single:  {', '.join(f'{r:,.0f}' for r in single_runs)}")
    print(f"  runs, batched: {', '.join(f'{r:,.0f}' for r in batched_runs)}")
    print(
        f"\n  {total:,} postings: recomputation check {check_s:.3f} s "
        f"({len(problems)} problems), one account's balance {balance_s * 1000:.1f} ms"
    )
    if problems:
        raise SystemExit(f"ledger problems: {problems[:5]}")
    if args.payout_creators:
        payout_bench(args.payout_creators, via=args.payout_via)
    if args.settle_lines:
        settlement_bench(b, args.settle_lines, batched_rate=batched, workers=args.settle_workers)


# --- settlement (billing.fulfilment) ----------------------------------------------------------


def _settle_in_threads(settlement_run, now, workers: int) -> list[int]:
    """Shards side by side, one database connection each (as parallel Celery tasks would)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def shard(k: int) -> int:
        try:
            return settlement_run(now=now, shard=k, shards=workers)
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(shard, range(workers)))


def settlement_bench(
    bench: Bench,
    lines: int,
    lines_per_order: int = 2,
    batched_rate: float = 0.0,
    workers: int = 1,
) -> None:
    """Time `settlement_run` over LINES delivered order lines whose return window has closed.

    The supplier orders and lines are written with two INSERT … SELECT statements (what is timed
    is settlement, not making its input), spread over the bench's 8 suppliers and 8 shops, two
    lines an order, one with the delivery charge. Settlement then posts one entry per supplier
    order (pending → available commission, payable → available supplier payable: 4 postings)
    through `entries_post_many`, in batches, and marks each order settled.
    Target (issue 6): 100,000 order lines settled in at most 60 s.
    """

    from django.db import connection
    from django.utils import timezone

    from billing.fulfilment.models import SupplierOrder
    from billing.fulfilment.settlement import settlement_run
    from billing.models import JournalEntry, Payment
    from catalog import services as catalog
    from catalog.services.prices import PriceTerms

    supplier = bench.suppliers[0]
    actor = supplier.user
    product = catalog.product_create(
        supplier=supplier,
        actor=actor,
        category=catalog.category_create(name="Bench", actor=actor),
        title="Bench tea",
        weight_g=500,
        shipping_template=catalog.shipping_template_create(
            supplier=supplier, name="Bench", actor=actor, default_fee_fen=0
        ),
    )
    sku = catalog.sku_create(
        product=product,
        supplier=supplier,
        actor=actor,
        code="BENCH",
        terms=PriceTerms(
            supply_price_fen=5000,
            suggested_retail_fen=9990,
            min_retail_fen=6000,
            max_retail_fen=12000,
        ),
        stock=10,
    )
    now = timezone.now()
    payment = Payment.objects.create(
        tenant=bench.tenants[0],
        order_number="BENCH",
        amount=1,
        provider="sandbox",
        out_trade_no="BENCHSETTLE",
        status=Payment.Status.CAPTURED,
        expires_at=now,
        captured_at=now,
    )
    orders = lines // lines_per_order
    print(f"\nmaking {orders:,} delivered supplier orders, {lines:,} lines…", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO fulfilment_supplierorder
                (tenant_id, order_number, supplier_id, payment_id, currency, recipient, phone,
                 province, city, district, street, status, carrier, tracking_number,
                 shipped_at, delivered_at, returns_close_at, created_at, updated_at)
            SELECT (%(tenants)s::bigint[])[1 + g %% cardinality(%(tenants)s::bigint[])],
                   'S' || g,
                   (%(suppliers)s::bigint[])[1 + (g / 8) %% cardinality(%(suppliers)s::bigint[])],
                   %(payment)s, 'CNY', '李小红', '13912345678', '浙江省', '杭州市', '西湖区',
                   '文三路 90 号', 'delivered', 'EMS', 'EMS' || g,
                   %(now)s - interval '9 days', %(now)s - interval '8 days',
                   %(now)s - interval '1 day', %(now)s, %(now)s
              FROM generate_series(1, %(orders)s) g
            """,
            {
                "tenants": [t.pk for t in bench.tenants],
                "suppliers": [s.pk for s in bench.suppliers],
                "payment": payment.pk,
                "now": now,
                "orders": orders,
            },
        )
        # quantity q of 99.90 at supply 50.00: fee 5% of the retail, the rest commission.
        cursor.execute(
            """
            INSERT INTO fulfilment_supplierorderline
                (supplier_order_id, line_ref, sku_id, title, option_label, quantity,
                 retail_price_fen, supply_price_fen, shipping_fen, fee_fen, commission_fen,
                 return_days, returned_quantity, refunded_quantity)
            SELECT so.id, so.id * 10 + k, %(sku)s, 'Bench tea', '', q, 9990, 5000,
                   CASE WHEN k = 1 THEN 800 ELSE 0 END,
                   (9990 * q * 500 + 5000) / 10000,
                   4990 * q - (9990 * q * 500 + 5000) / 10000,
                   7, 0, 0
              FROM fulfilment_supplierorder so
             CROSS JOIN generate_series(1, %(per)s) k
             CROSS JOIN LATERAL (SELECT 1 + (so.id + k) %% 3 AS q) quantity
             WHERE so.payment_id = %(payment)s
            """,
            {"sku": sku.pk, "per": lines_per_order, "payment": payment.pk},
        )
        cursor.execute("ANALYZE fulfilment_supplierorder")
        cursor.execute("ANALYZE fulfilment_supplierorderline")

    entries_before = JournalEntry.objects.count()
    started = time.perf_counter()
    if workers == 1:
        settled = settlement_run(now=now)
    else:
        settled = sum(_settle_in_threads(settlement_run, now, workers))
    elapsed = time.perf_counter() - started
    entries = JournalEntry.objects.count() - entries_before
    again_started = time.perf_counter()
    again = settlement_run(now=now)
    again_s = time.perf_counter() - again_started
    left = SupplierOrder.objects.filter(settled_at__isnull=True).count()

    print(
        f"\nSettlement ({lines_per_order} lines a supplier order, windows closed, "
        f"{workers} shard{'s' if workers > 1 else ''} side by side)"
    )
    print(
        f"  {lines:,} order lines / {settled:,} supplier orders settled in {elapsed:.1f} s: "
        f"{lines / elapsed:,.0f} lines/s, {entries * POSTINGS_PER_ENTRY / elapsed:,.0f} postings/s"
    )
    print(f"  target: 100,000 lines in <= 60 s; {entries:,} entries posted, {left} left unsettled")
    if batched_rate:
        # Settlement is batched posting plus its own reads and the settled_at UPDATE: this
        # says how much of the ledger's batched speed (same run, same load) it keeps.
        print(
            f"  {entries * POSTINGS_PER_ENTRY / elapsed / batched_rate:.0%} of this run's "
            f"batched posting rate ({batched_rate:,.0f} postings/s)"
        )
    print(f"  a second run settled {again} in {again_s:.2f} s (nothing is settled twice)")
    if settled != orders or left or again:
        raise SystemExit("settlement bench: not every order settled exactly once")


# --- payouts (billing.payouts) ------------------------------------------------------------------


def payout_bench(creators: int, threads: int = 2, via: str = "worker") -> None:
    """Time a payout batch for CREATORS creators: make it, approve it (two staff when it is
    above the dual-approval amount, as 1,000 creators are), queue its tasks, execute them all.

    Each creator (a shop row; its schema is never touched) has 150.00–249.99 of available
    commission, posted untimed. VIA "worker": a real Celery worker (prefork, THREADS processes,
    started and warmed before the clock starts) executes the queued tasks, and the clock stops
    when the batch is done. VIA "threads": `payout_execute` (the task's body: lock, balance check,
    "sending", sandbox transfer, record + ledger entry `payout:<pk>`) runs on THREADS
    connections in this process. Either way the messages go to a bench-only queue, purged after.
    Target (issue 6): none given; the figure is printed.
    """
    from concurrent.futures import ThreadPoolExecutor

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import override_settings

    from billing.ledger import AccountRef, EntrySpec, entries_post_many
    from billing.ledger_selectors import balances_recompute_check
    from billing.payouts import services
    from billing.payouts.models import Payout, PayoutBatch, SandboxTransfer
    from config.celery import app
    from tenants.models import Tenant

    print(f"\nmaking {creators:,} creators with available commission…", flush=True)
    tenants = Tenant.objects.bulk_create(
        [Tenant(schema_name=f"bench_payout_{n}", name=f"Bench payout {n}") for n in range(creators)]
    )
    entries_post_many(
        entries=[
            EntrySpec(
                key=f"bench-payout-settled:{t.pk}",
                lines=[
                    (AccountRef.clearing("sandbox"), 15_000 + n % 10_000),
                    (AccountRef.commission_available(t.pk), -(15_000 + n % 10_000)),
                ],
            )
            for n, t in enumerate(tenants)
        ]
    )
    users = get_user_model().objects
    maker = users.create_user("bench-payout-maker", is_staff=True)
    checker = users.create_user("bench-payout-checker", is_staff=True)
    queue = "bench-payouts"
    worker = None
    if via != "threads":
        options = ["-Q", queue, "--concurrency", str(threads), "-n", f"{queue}@%h", "-l", "error"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", *options],
            # Not DEBUG: it would keep every query in memory.
            env=dict(
                os.environ,
                DJANGO_DEBUG="0",
                DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key"),
            ),
            cwd=ROOT,
        )
        print("  starting a Celery worker…", flush=True)
        while not app.control.ping(destination=[f"{queue}@{socket.gethostname()}"], timeout=1):
            if worker.poll() is not None:
                raise SystemExit("payout bench: the Celery worker did not start")
        # Warm it up (Django set up, connections open) before the clock starts.
        from billing.payouts.tasks import payouts_resume_sweep_task

        for _ in range(threads * 2):
            payouts_resume_sweep_task.apply_async(queue=queue).get(timeout=120)

    with override_settings(VSTORE_PAYOUT_QUEUE=queue):
        started = time.perf_counter()
        batch = services.payout_batch_create(
            kind="creator", minimum_fen=10_000, created_by=maker, only=[t.pk for t in tenants]
        )
        made = time.perf_counter()
        # Two different staff above VSTORE_PAYOUT_DUAL_APPROVAL_FEN; the last one queues.
        if not services.payout_batch_approve(batch=batch, user=maker, confirmed=True).executing:
            services.payout_batch_approve(batch=batch, user=checker, confirmed=True)
        approved = time.perf_counter()
        ids = list(batch.payouts.values_list("pk", flat=True))

        def run(chunk: list[int]) -> int:
            try:
                for payout_id in chunk:
                    services.payout_execute(payout_id=payout_id)
                return len(chunk)
            finally:
                connection.close()

        if via == "threads":
            with ThreadPoolExecutor(threads) as pool:
                sum(pool.map(run, [ids[k::threads] for k in range(threads)]))
        else:
            # The worker reports nothing back: the batch's status says when every payout ended.
            while PayoutBatch.objects.get(pk=batch.pk).status != PayoutBatch.Status.DONE:
                if worker is not None and worker.poll() is not None:
                    raise SystemExit("payout bench: the worker died")
                time.sleep(0.05)
        executed = time.perf_counter()
    if worker is not None:
        worker.terminate()
        worker.wait(timeout=60)
    with app.connection_for_write() as conn:
        purged = conn.default_channel.queue_purge(queue)

    paid = Payout.objects.filter(batch=batch, status=Payout.Status.PAID).count()
    transfers = SandboxTransfer.objects.filter(payout_no__in=batch.payouts.values("payout_no"))
    batch.refresh_from_db()
    how = f"a Celery worker, {threads} processes" if via != "threads" else f"{threads} threads"
    print(f"\nPayout batch for {creators:,} creators (executed by {how})")
    print(
        f"  create {made - started:.2f} s · approve + queue {approved - made:.2f} s · "
        f"execute {executed - approved:.2f} s ({creators / (executed - approved):,.0f} payouts/s)"
    )
    print(
        f"  total {executed - started:.2f} s; {paid:,} paid, {transfers.count():,} transfers, "
        f"batch {batch.status}, {purged or 0} queued messages purged"
    )
    if paid != creators or transfers.count() != creators or balances_recompute_check():
        raise SystemExit("payout bench: not every creator paid exactly once")


if __name__ == "__main__":
    main()
