"""A flash sale's rush (issue 13): 50,000 units to 100,000 buyers, 5,000 to 20,000, and 440,000
pre-registrations, against the production server on loopback.

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/flash_sale.py [--quick]

Works in its own database (vstore_bench_flash, dropped and made anew) on the server
DATABASE_URL names, and Redis database 13, so the demo data is untouched. The server is the
production one: gunicorn with deploy/gunicorn.conf.py serving config.wsgi's application (the
lean flash paths in front of Django, storefront/flash/edge.py), DEBUG off, persistent
connections. The only addition is a two-byte WSGI handler at /bench/two, dispatched in front of
that application in this module (`application`, what gunicorn serves here): the baseline that
the buy endpoint is compared with, served the same way in the same run.

Buyers are fans of the shop with grab tokens minted as their pages would get them after the
start (tokens.py), each pressing 抢购 once with its own idempotency key. The load comes from
wrk (C, epoll, one thread, a Lua script that gives every request the next buyer's token and a
distinct client address in X-Forwarded-For, believed from loopback as from nginx) over
--connections connections; it stops after the last buyer. Won grabs go to PostgreSQL through
the writer (storefront/flash/writer.py), run in this process in a loop as its Celery task
would. Pre-registrations go through the registration service (storefront/flash/registration.py:
Redis only) from 8 threads, then to PostgreSQL in batches.

Figures move with the machine's load: compare the ratio with the two-byte handler, measured in
the same run. Everything is bounded: --deadline seconds per phase.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_flash"
HOST = "flashbench.localhost"


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """What gunicorn serves in the bench: /bench/two (two bytes, the baseline), else the
    deployed application (config.wsgi: FlashEdge in front of Django)."""
    if environ.get("PATH_INFO") == "/bench/two":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return _deployed()(environ, start_response)


_app: Any = None
if os.environ.get("BENCH_FLASH_SERVE") == "1":
    # Served by gunicorn (preload_app): Django is set up once in the master, as deployed, not
    # on each worker's first request (which took longer than gunicorn's timeout under load).
    from config.wsgi import application as _app


def _deployed() -> Any:
    global _app
    if _app is None:
        from config.wsgi import application as deployed

        _app = deployed
    return _app


def bench_database_url(*, keep: bool = False) -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not (keep and exists):
            c.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(url._replace(path=f"/{DB_NAME}"))


def environment(var_dir: Path, *, keep: bool) -> dict[str, str]:
    redis = urlsplit(os.environ["REDIS_URL"])
    env = dict(
        os.environ,
        DATABASE_URL=bench_database_url(keep=keep),
        REDIS_URL=urlunsplit(redis._replace(path="/13")),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-flash-not-secret-" + "x" * 40,
        DATABASE_CONN_MAX_AGE="600",
        VSTORE_CACHE_PREFIX="vstore-bench-flash",
        VSTORE_POOL_SIZE="0",
        VSTORE_VAR_DIR=str(var_dir),
        DJANGO_MEDIA_ROOT=str(var_dir / "media"),
        # wrk stands in for nginx on loopback: it names each buyer's address.
        VSTORE_TRUSTED_PROXIES="127.0.0.1",
        VSTORE_HTTPS="0",
        VSTORE_PAYMENTS_SANDBOX="1",
        VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION="1",
        LOG_LEVEL="WARNING",
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), env.get("PYTHONPATH", "")])
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c deploy/gunicorn.conf.py flash_sale:application on a loopback port."""

    def __init__(self, env: dict[str, str], *, log: Path) -> None:
        self.port = free_port()
        env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}", BENCH_FLASH_SERVE="1")
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"),
             "--access-logfile", "/dev/null", "flash_sale:application"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.sendall(b"GET /bench/two HTTP/1.0\r\nHost: x\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1."):
                        return
            except OSError:
                time.sleep(0.2)  # polling a starting server; not a test
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# Each request: the next buyer's press. Answers are counted by their result; after the last
# buyer the thread stops (the few requests in flight then are retries of earlier presses with
# their own keys: answered as duplicates, never a unit more).
GRAB_LUA = r"""
local tokens = {}
local n = 0
local i = 0
counts = {}
function init(args)
  for line in io.lines(args[1]) do n = n + 1; tokens[n] = line end
end
local answered = 0
function request()
  i = i + 1
  if i > n then
    -- Every buyer has pressed; the connections still ask for requests until the last answers
    -- are in: they get the two-byte handler, which touches no gate (its "ok" is not counted).
    return wrk.format("GET", "/bench/two", {["Host"] = "__HOST__"})
  end
  local body = "t=" .. tokens[i] .. "&k=bench-__PREFIX__-" .. i
  local ip = "10." .. (math.floor(i / 65536) % 256) .. "." .. (math.floor(i / 256) % 256)
    .. "." .. (i % 256)
  return wrk.format("POST", "/flash/grab", {["Host"] = "__HOST__", ["X-Forwarded-For"] = ip,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
function response(status, headers, body)
  if body == "ok" then return end
  local r = string.match(body, '"result":"([%a_]+)"') or ("http" .. status)
  counts[r] = (counts[r] or 0) + 1
  answered = answered + 1
  -- Stopping when the last press was only sent would drop the presses still in flight.
  if answered >= n then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local t = threads[1]
  local c = t:get("counts")
  for k, v in pairs(c) do io.write(string.format("RESULT %s %d\n", k, v)) end
end
threads = {}
function setup(thread) table.insert(threads, thread) end
"""


def wrk_grab(
    port: int, *, tokens: Path, prefix: str, connections: int, deadline: float, done: Any,
    buyers: int,
) -> tuple[float, float, str]:  # fmt: skip
    """wrk with the buyers' script until DONE() says every buyer was answered (then SIGINT:
    wrk stops and reports; its -d would otherwise keep it waiting), or until DEADLINE."""
    script = Path(tempfile.mkdtemp()) / "grab.lua"
    script.write_text(GRAB_LUA.replace("__HOST__", HOST).replace("__PREFIX__", prefix))
    started = time.time()
    proc = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{int(deadline)}s", "--latency", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}/flash/grab", "--", str(tokens)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # DONE() is the number of presses the gate has seen. A press can be lost on the way (wrk
    # writes it to a connection the sync worker just closed: a socket error, and wrk goes on
    # with the next buyer), so the run ends when every buyer reached the gate, or when all but
    # a few did and none came for a second; the rate is then over the presses that arrived.
    seen, changed = 0, started
    while proc.poll() is None and time.time() < started + deadline:
        now, count = time.time(), done()
        if count != seen:
            seen, changed = count, now
        if count >= buyers or (count >= buyers * 0.999 and now - changed > 1.0):
            break
        time.sleep(0.02)  # polling the gate's attempt counter
    ended = changed
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, _err = proc.communicate(timeout=60)
    return started, ended, out


def wrk_plain(port: int, path: str, *, connections: int, seconds: float) -> dict[str, float]:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
         "-H", f"Host: {HOST}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    return wrk_figures(done.stdout)


def wrk_figures(out: str) -> dict[str, float]:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * WRK_UNITS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    requests = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    seconds = float("nan")
    if requests:
        value, unit = float(requests.group(2)), requests.group(3)
        seconds = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": float(requests.group(1)) if requests else float("nan"),
        "seconds": seconds,
    }


def setup_data(*, fans: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from catalog.testing import product_make, terms
    from storefront.models import ListingItem
    from storefront.services import listing_create
    from tenants.models import Tenant
    from tenants.provisioning import template_ensure
    from tenants.services import platform_ensure, shop_create

    print("setting up the bench database (migrations, template, one shop)…", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    platform_ensure()
    template_ensure()
    shop = Tenant.objects.filter(domains__domain=HOST).first() or shop_create(
        name="Flash bench", subdomain="flashbench"
    )
    items = []
    for stock in (60_000, 6_000):
        product = product_make(skus=1, stock=stock, price_terms=terms())
        with tenant_context(shop):
            listing = listing_create(
                product=product,
                title="小米手机 秒杀" if stock > 10_000 else "小米路由器 秒杀",
                copy="<p>限量</p>",
                prices={s.pk: 8800 for s in product.skus.all()},
            )
            items.append(ListingItem.objects.get(listing=listing))
    started = time.perf_counter()
    with tenant_context(shop), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM storefront_fan WHERE mobile LIKE '13%%'")
        have = cur.fetchone()[0]
        # 13xxxxxxxxx: fans of the shop (a grab's row points at its fan).
        cur.execute(
            "INSERT INTO storefront_fan (mobile, email, name, wechat_openid, wechat_unionid,"
            " created_at) SELECT (13000000000 + g)::text, '', '', '', '', now()"
            " FROM generate_series(%s, %s) g",
            [have + 1, fans],
        )
        cur.execute("SELECT id FROM storefront_fan WHERE mobile LIKE '13%%' ORDER BY id")
        fan_ids = [r[0] for r in cur.fetchall()]
    print(f"  {len(fan_ids):,} fans ({time.perf_counter() - started:.1f} s)", flush=True)
    return {"shop": shop, "items": items, "fan_ids": fan_ids}


def sale_schedule(shop: Any, item: Any, *, quantity: int, starts_in: float) -> Any:
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from storefront.flash.models import FlashSale
    from storefront.flash.services import flash_sale_schedule

    now = timezone.now()
    with tenant_context(shop):
        sale = flash_sale_schedule(
            item=item,
            price_fen=6600,
            quantity=quantity,
            per_buyer_limit=1,
            announce_at=now,
            starts_at=now + timedelta(seconds=starts_in),
            ends_at=now + timedelta(seconds=starts_in) + timedelta(hours=1),
        )
        return FlashSale.objects.get(pk=sale.pk)


def tokens_write(path: Path, *, schema: str, sale: Any, fan_ids: list[int]) -> None:
    from storefront.flash.tokens import grab_token_make

    expires = int(sale.ends_at.timestamp())
    with path.open("w") as f:
        for fan_id in fan_ids:
            f.write(
                grab_token_make(schema=schema, sale_id=sale.pk, fan_id=fan_id, expires=expires)
                + "\n"
            )


class Watch(threading.Thread):
    """Runs the writer (as its Celery task would) until every win is in PostgreSQL or the
    deadline passes."""

    def __init__(self, *, schema: str, sale_id: int, quantity: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.schema, self.sale_id, self.quantity = schema, sale_id, quantity
        self.deadline = deadline
        self.persisted_at: float | None = None
        self.stop_flag = threading.Event()

    def run(self) -> None:
        from django.db import connection
        from django_tenants.utils import schema_context

        from storefront.flash.models import FlashGrab
        from storefront.flash.writer import flash_writer_drain

        end = time.time() + self.deadline
        while time.time() < end and not self.stop_flag.is_set():
            flash_writer_drain(schema=self.schema, sale_id=self.sale_id, batch=1000)
            with schema_context(self.schema):
                rows = FlashGrab.objects.filter(sale_id=self.sale_id).count()
            if rows >= self.quantity:
                self.persisted_at = time.time()
                break
            time.sleep(0.05)  # the writer's next round
        connection.close()


def rush(
    *, port: int, data: dict[str, Any], item: Any, quantity: int, buyers: int, prefix: str,
    args: argparse.Namespace, work: Path,
) -> dict[str, Any]:  # fmt: skip
    from django_tenants.utils import schema_context

    from storefront.flash.gate import gate_attempts, gate_idem_all, gate_left
    from storefront.flash.models import FlashGrab, FlashSale

    shop = data["shop"]
    schema = shop.schema_name
    sale = sale_schedule(shop, item, quantity=quantity, starts_in=3)
    tokens = work / f"tokens-{prefix}.txt"
    tokens_write(tokens, schema=schema, sale=sale, fan_ids=data["fan_ids"][:buyers])
    while time.time() < sale.starts_at.timestamp():
        time.sleep(0.05)  # the start: pages loaded after it got these tokens
    watch = Watch(schema=schema, sale_id=sale.pk, quantity=quantity, deadline=args.deadline)
    watch.start()

    sold_out: list[float] = []

    def attempts() -> int:
        if not sold_out and gate_left(schema=schema, sale_id=sale.pk) <= 0:
            sold_out.append(time.time())
        # Each press that reached the gate's script counts one attempt there.
        return gate_attempts(schema=schema, sale_id=sale.pk)

    started, ended, out = wrk_grab(
        port,
        tokens=tokens,
        prefix=prefix,
        connections=args.connections,
        deadline=args.deadline,
        done=attempts,
        buyers=buyers,
    )
    watch.join(timeout=args.deadline)
    watch.stop_flag.set()
    figures = wrk_figures(out)
    results = {m.group(1): int(m.group(2)) for m in re.finditer(r"RESULT (\S+) (\d+)", out)}
    with schema_context(schema):
        rows = set(FlashGrab.objects.filter(sale=sale).values_list("idem_key", flat=True))
        fresh = FlashSale.objects.get(pk=sale.pk)
    won_in_gate = {k for k, (_f, _d, st) in gate_idem_all(schema=schema, sale_id=sale.pk).items()
                   if st == "w"}  # fmt: skip
    return {
        "sale": fresh,
        "figures": figures,
        "results": results,
        "sold_out_s": (sold_out[0] - started) if sold_out else None,
        "persisted_s": (watch.persisted_at - started) if watch.persisted_at else None,
        "wrk_s": ended - started,
        "attempts": gate_attempts(schema=schema, sale_id=sale.pk),
        "grabs_per_s": gate_attempts(schema=schema, sale_id=sale.pk) / (ended - started),
        "rows": len(rows),
        "oversold": max(0, len(rows) - quantity) + max(0, fresh.units_ordered - quantity),
        "won_but_lost": len(won_in_gate - rows),
        "won_answers": results.get("won", 0),
    }


def registrations(*, data: dict[str, Any], item: Any, count: int) -> dict[str, float]:
    from django.db import connection
    from django_tenants.utils import schema_context

    from storefront.flash.edge import redis_client
    from storefront.flash.models import FlashSale
    from storefront.flash.registration import flash_register, registrations_flush
    from storefront.models import Fan

    shop = data["shop"]
    schema = shop.schema_name
    sale = sale_schedule(shop, item, quantity=100, starts_in=3 * 3600)
    ids = data["fan_ids"][:count]
    redis = redis_client()
    redis.execute_command("MEMORY PURGE")
    before = int(redis.info("memory")["used_memory"])

    def chunk(part: list[int]) -> None:
        with schema_context(schema):
            for fan_id in part:
                flash_register(sale=sale, fan=Fan(pk=fan_id))
        connection.close()

    started = time.perf_counter()
    parts = [ids[i::8] for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(chunk, parts))
    elapsed = time.perf_counter() - started
    after = int(redis.info("memory")["used_memory"])
    started = time.perf_counter()
    with schema_context(schema):
        written = registrations_flush(sale_id=sale.pk, batch=5000)
        counted = FlashSale.objects.get(pk=sale.pk).registrations
    flushed = time.perf_counter() - started
    return {
        "count": len(ids),
        "seconds": elapsed,
        "rate": len(ids) / elapsed,
        "redis_mb": (after - before) / 1e6,
        "flush_s": flushed,
        "written": written,
        "counted": counted,
    }


class _Skip(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--deadline", type=float, default=600, help="seconds, per phase")
    parser.add_argument("--quick", action="store_true", help="a tenth of every figure")
    parser.add_argument("--skip-registrations", action="store_true")
    parser.add_argument("--skip-rush", action="store_true", help="pre-registrations only")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the bench database of an earlier run"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: scripts/system-deps.sh installs it (Debian: apt-get install wrk)")
    scale = 10 if args.quick else 1
    units, buyers = 50_000 // scale, 100_000 // scale
    router_units, router_buyers = 5_000 // scale, 20_000 // scale
    regs = 440_000 // scale

    var_dir = ROOT / "var" / "bench-flash"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = environment(var_dir, keep=args.keep)
    os.environ.update(env)
    data = setup_data(fans=max(buyers, router_buyers, regs))
    from storefront.flash.edge import redis_client

    redis_client().flushdb()
    print(f"\ngunicorn, deploy/gunicorn.conf.py ({os.cpu_count()} cores), wrk -c{args.connections}")
    server = Server(env, log=var_dir / "gunicorn.log")
    report: dict[str, Any] = {}
    try:
        if args.skip_rush:
            raise _Skip
        server.wait_ready()
        wrk_plain(server.port, "/bench/two", connections=args.connections, seconds=2)  # warm
        two = wrk_plain(server.port, "/bench/two", connections=args.connections, seconds=8)
        print(
            f"  two-byte handler       {two['rps']:8.0f} req/s  p99 {two['p99']:.1f} ms", flush=True
        )
        phone, router = data["items"]
        big = rush(port=server.port, data=data, item=phone, quantity=units, buyers=buyers,
                   prefix="phone", args=args, work=var_dir)  # fmt: skip
        report["big"] = big
        print_rush(f"{units:,} units, {buyers:,} buyers", big, two)
        small = rush(port=server.port, data=data, item=router, quantity=router_units,
                     buyers=router_buyers, prefix="router", args=args, work=var_dir)  # fmt: skip
        print_rush(f"{router_units:,} units, {router_buyers:,} buyers", small, two)
        two_after = wrk_plain(server.port, "/bench/two", connections=args.connections, seconds=8)
        print(f"  two-byte handler again {two_after['rps']:8.0f} req/s", flush=True)
    except _Skip:
        pass
    finally:
        server.stop()
    if not args.skip_registrations:
        reg = registrations(data=data, item=data["items"][1], count=regs)
        print(
            f"\n{reg['count']:,} pre-registrations: {reg['rate']:,.0f}/s through the service "
            f"(8 threads, {reg['seconds']:.1f} s), Redis +{reg['redis_mb']:.1f} MB; "
            f"written to PostgreSQL in {reg['flush_s']:.1f} s ({reg['written']:,} rows, "
            f"sale.registrations = {reg['counted']:,})"
        )
    mem = redis_client().info("memory")["used_memory"] / 1e6
    print(
        f"\nRedis used_memory at the end: {mem:.1f} MB. Load average: "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )


def print_rush(label: str, r: dict[str, Any], two: dict[str, float]) -> None:
    f = r["figures"]
    ratio = r["grabs_per_s"] / two["rps"] if two["rps"] else float("nan")
    sold = f"{r['sold_out_s']:.1f} s" if r["sold_out_s"] is not None else "not sold out"
    kept = f"{r['persisted_s']:.1f} s" if r["persisted_s"] is not None else "not all written"
    print(
        f"\n{label}:\n"
        f"  sold out after {sold}; all {r['rows']:,} orders in PostgreSQL after {kept}\n"
        f"  {r['grabs_per_s']:,.0f} grabs/s ({ratio:.2f}× the two-byte handler), "
        f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms\n"
        f"  answers: {r['results']} ({r['attempts']:,} presses reached the gate)\n"
        f"  oversold {r['oversold']}, won-but-lost {r['won_but_lost']} "
        f"(won answers {r['won_answers']:,}, rows {r['rows']:,}, "
        f"sale.units_ordered {r['sale'].units_ordered:,} of {r['sale'].quantity:,})",
        flush=True,
    )


if __name__ == "__main__":
    main()
