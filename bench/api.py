"""The creator API under load (issue 18): the orders list of a shop with 100,000 orders against a
bare view in the same server and run, and the webhook dispatcher's deliveries per second.

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/api.py [--seconds N]

Works in its own database (vstore_bench_api, dropped and made anew: bench/storefront.py's setup
makes the platform, the template and one shop with 6 listings; bench/analytics_dashboard.py's
orders_fill then makes 99,000 paid and 1,000 unpaid or expired orders, one line each, by 20,000
fans: 100,000 orders) and Redis database 11 (cache, rate counts and the Celery broker), so the
demo data is untouched. The server is bench/storefront.py's: gunicorn with
deploy/gunicorn.conf.py (production's worker count), DEBUG off, persistent connections, and its
bare view /bench/bare/ (the same middleware, shop lookup included, and two bytes).

Two changes to production's settings, for the bench only: VSTORE_API_RATE is raised (to
100000000/m: the default 600/m per token would answer most of a load test with 429; the rate is
still counted in Redis on every request, as in production), and VSTORE_WEBHOOK_ALLOW_PRIVATE=1
so the worker may post to a receiver on 127.0.0.1 (production allows public https only).

1. Orders: GET /api/v1/orders?limit=100 on the shop's host with a Bearer token of the shop's own
   (storefront.shopapi.services.shop_token_create, scope orders:read). The bench first pages
   through every order once with the cursor (one client, one request after another; it checks
   that each of the 100,000 orders came exactly once) and prints how long the pages took from
   the first to the deepest; then wrk (with a Lua script for the cursors) holds --connections
   requests in flight for --seconds after a warm-up on: the bare view, page 1, and deep pages
   (cursors from all over the walk, one after another); wrk waits up to 10 s for an answer, so
   a slow one counts in p99, not as an error. It also counts the SQL statements of one request
   of each and their time (in this process, Django's test client, the same middleware).
2. Webhooks: one order.paid subscription of the shop pointed at a receiver on 127.0.0.1 in this
   process (answers 200, keeps what it got). --deliveries events (of the newest orders, the
   payload the product sends) are recorded in one transaction with shop_event_emit, which after
   the commit queues shop_delivery_send_task for each, as the product does; a real Celery worker
   (celery -A config worker, prefork, --worker-concurrency processes, 2 as make run's) sends
   them through delivery_attempt (row lock, signature, core.webhook_http's POST, the log). The
   figure is deliveries per second from the commit to the last delivery marked delivered; the
   bench checks every delivery ended delivered after one attempt, reached the receiver exactly
   once, and carried a valid signature. A warm-up batch is sent first (the worker's start).
   Then, for comparison, --direct more deliveries are recorded (nothing queued) and the task's
   body is called in --worker-concurrency threads of this process: the send path without the
   broker and the worker (the receiver then shares this process with the senders).

Targets: issue 18 sets no number; the figure is the ratio to the bare view. For scale, the
shop's uncached pages aim at ≥ 0.25× the bare view with p99 ≤ 100 ms (bench/storefront.py);
the orders page is a 100-order JSON document, so the bench prints that line as a reference.
In a closed loop, a p99 is at least connections / (requests per second). Figures move with the
load of the machine (2 shared cores when this was written): read the ratios. 6 to 8 minutes,
most of it the walk (--walk-pages N walks only N pages).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_api"
REDIS_DB = "/11"
ORDERS = 100_000  # in the shop, 1,000 of them unpaid or expired
LIMIT = 100  # the API's largest page
API_RATE = "100000000/m"
TARGET_RATIO = 0.25  # bench/storefront.py's uncached pages, for reference
TARGET_P99_MS = 100
WARM_DELIVERIES = 50  # sent first, not measured: the worker starts, connects, imports


def load_bench(name: str, file: str):
    """A bench file as a module (bench/storefront.py's name is the storefront package's)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # their dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def environment(sf, var_dir: Path) -> dict[str, str]:
    env = sf.environment(var_dir)
    redis = urlsplit(os.environ["REDIS_URL"])
    url = urlunsplit(redis._replace(path=REDIS_DB))
    env.update(
        REDIS_URL=url,
        CELERY_BROKER_URL=url,
        CELERY_RESULT_BACKEND=url,
        VSTORE_CACHE_PREFIX="vstore-bench-api",
        DJANGO_SECRET_KEY="bench-api-not-secret",
        VSTORE_API_RATE=API_RATE,
        VSTORE_WEBHOOK_ALLOW_PRIVATE="1",
    )
    return env


def token_make(shop) -> str:
    """A shop token with orders:read, made by the product's own service; its plain text."""
    from django_tenants.utils import tenant_context

    from storefront.shopapi.services import shop_token_create

    with tenant_context(shop):
        _token, plain = shop_token_create(name="bench", scopes=["orders:read"])
    return plain


# --- the orders list ----------------------------------------------------------------------------


def orders_path(cursor: str | None = None) -> str:
    return f"/api/v1/orders?limit={LIMIT}" + (f"&cursor={cursor}" if cursor else "")


def walk(port: int, host: str, token: str, *, pages: int) -> tuple[list[str], list[float]]:
    """The orders' pages in order, following next_cursor on one keep-alive connection, to the
    last page or PAGES of them (0: all); (the cursor of each page after the first, each page's
    milliseconds). Checks that no order came twice and, for a whole walk, that all came."""
    whole = pages <= 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Host": host, "Authorization": f"Bearer {token}"}
    cursors: list[str] = []
    times: list[float] = []
    numbers: set[str] = set()
    seen = 0
    cursor = None
    try:
        for _page in range(ORDERS // LIMIT + 2 if whole else pages):  # bounded
            t0 = time.perf_counter()
            conn.request("GET", orders_path(cursor), headers=headers)
            response = conn.getresponse()
            body = response.read()
            times.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{orders_path(cursor)}: HTTP {response.status} {body[:300]!r}")
            page = json.loads(body)
            seen += len(page["items"])
            numbers.update(o["number"] for o in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
            cursors.append(cursor)
        else:
            if whole:
                raise RuntimeError(f"no last page after {len(times)} pages")
    finally:
        conn.close()
    if seen != len(numbers) or seen != (ORDERS if whole else len(times) * LIMIT):
        raise RuntimeError(f"the walk saw {seen} orders, {len(numbers)} different")
    return cursors, times


def queries_per_request(host: str, token: str, paths: dict[str, str]) -> dict[str, str]:
    """For one request of each path (Django's test client in this process, the full
    middleware): its SQL statements (SET search_path apart), their time and the request's."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
    figures = {}
    for name, path in paths.items():
        client.get(path)  # warm: the shop lookup's cache, the first-call imports
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            took = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        sets = sum(q["sql"].startswith("SET search_path") for q in queries.captured_queries)
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        figures[name] = (
            f"{len(queries) - sets} queries + {sets} SET search_path,"
            f" SQL {sql_ms:.0f} ms of {took:.0f} ms"
        )
        connection.set_schema_to_public()
    return figures


CURSORS_SCRIPT = """
cursors = {%(cursors)s}
n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "%(path)s&cursor=" .. cursors[(n %% #cursors) + 1])
end
"""


def wrk(
    sf, port: int, path: str, *, headers: dict[str, str], connections: int, seconds: float,
    cursors: list[str] | None = None,
) -> dict[str, float]:  # fmt: skip
    """One wrk run (C, epoll, one thread): req/s, p50 and p99 in ms, requests and errors;
    with CURSORS, each request asks for the page after the next of them."""
    script = None
    # --timeout 10s: a slow answer counts in the latencies, not as an error (wrk's default is 2 s)
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if cursors:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(CURSORS_SCRIPT % {"cursors": ",".join(f'"{c}"' for c in cursors), "path": path})
        script = f.name
        cmd += ["-s", script]
    try:
        out = subprocess.run(
            [*cmd, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        if script:
            os.unlink(script)

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * sf.WRK_UNITS[m.group(2)] if m else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": (int(bad.group(1)) if bad else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
    }


def measure(sf, port: int, name: str, path: str, args, **kw) -> dict[str, float]:
    wrk(sf, port, path, connections=args.connections, seconds=args.warmup, **kw)  # dropped
    r = wrk(sf, port, path, connections=args.connections, seconds=args.seconds, **kw)
    print(
        f"  {name:24s} {r['rps']:8.0f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms"
        f"  ({r['requests']:.0f} requests, {r['errors']:.0f} errors)",
        flush=True,
    )
    return r


# --- webhooks -----------------------------------------------------------------------------------


class Receiver:
    """A loopback HTTP server that answers every POST 200 and keeps (delivery id, headers, body);
    DONE is set when EXPECT of them came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[str, str, bytes]] = []
        self.expect = 0
        self.done = threading.Event()
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with box.lock:
                    box.got.append(
                        (
                            self.headers.get("X-VStore-Delivery", ""),
                            self.headers.get("X-VStore-Signature", ""),
                            body,
                        )
                    )
                    if box.expect and len(box.got) >= box.expect:
                        box.done.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, expect: int) -> None:
        with self.lock:
            self.got, self.expect = [], expect
            self.done.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def signature_ok(secret: str, header: str, body: bytes) -> bool:
    """The README's check of X-VStore-Signature (t=<unix time>,v1=<hex HMAC>)."""
    fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in fields or "v1" not in fields:
        return False
    mac = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields["v1"]) and abs(time.time() - int(fields["t"])) <= 300


class Worker:
    """celery -A config worker (prefork) on the bench's database and broker."""

    def __init__(self, env: dict[str, str], *, concurrency: int, log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning",
             "-P", "prefork", "-c", str(concurrency), "-n", "bench-api@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # a warm shutdown: the running tasks finish
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()


def emit(shop, payloads: list[tuple[str, dict]]) -> tuple[list[int], float, float]:
    """order.paid for each (event id, payload) of PAYLOADS, in one transaction of the shop:
    shop_event_emit records a delivery each and, after the commit, queues its task. Returns the
    deliveries' ids, the time of the commit and the time the last task was queued."""
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from storefront.shopapi.events import shop_event_emit

    ids: list[int] = []
    marks: list[float] = []
    with tenant_context(shop), transaction.atomic():
        # Commit callbacks run in order: this one first, shop_event_emit's (the queuing) next.
        transaction.on_commit(lambda: marks.append(time.perf_counter()))
        for event_id, payload in payloads:
            ids += shop_event_emit(event="order.paid", payload=payload, event_id=event_id)
        transaction.on_commit(lambda: marks.append(time.perf_counter()))
    return ids, marks[0], marks[1]


def delivered(shop, ids: list[int]) -> tuple[int, int]:
    """(succeeded after exactly one attempt, succeeded) among IDS."""
    from django_tenants.utils import tenant_context

    from storefront.shopapi.models import ShopDelivery

    with tenant_context(shop):
        done = ShopDelivery.objects.filter(pk__in=ids, status=ShopDelivery.Status.SUCCEEDED)
        return done.filter(attempts=1).count(), done.count()


def send_and_wait(
    shop, rec: Receiver, worker: Worker, payloads: list[tuple[str, dict]], *, timeout: float
) -> tuple[list[int], float, float, float]:
    """Emit PAYLOADS' events and wait until every delivery is marked delivered; returns the ids
    and the times of the commit, of the last task queued and of the last delivery marked."""
    from django.db import connection

    rec.reset(len(payloads))
    ids, committed, queued = emit(shop, payloads)
    deadline = time.monotonic() + timeout
    while not rec.done.wait(timeout=1):
        if worker.proc.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            got = f"{len(rec.got)}/{len(payloads)} deliveries in {timeout:.0f} s"
            raise RuntimeError(f"{got}:\n{worker.log_tail()}")
    while delivered(shop, ids)[1] < len(ids):  # the row is saved just after the receiver answers
        if time.monotonic() > deadline:
            raise RuntimeError(f"deliveries not marked delivered in {timeout:.0f} s")
        time.sleep(0.02)  # polling the database for the last commits; not a test
    done = time.perf_counter()
    connection.set_schema_to_public()
    return ids, committed, queued, done


def direct(shop, rec: Receiver, payloads: list[tuple[str, dict]], *, threads: int):
    """The task's body without Celery: PAYLOADS' deliveries recorded (deliveries_record, nothing
    queued), then shop_delivery_send_task called in THREADS threads of this process, each in
    the shop's schema on its own connection; returns (ids, seconds)."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from billing.supplierapi.machinery import deliveries_record
    from storefront.shopapi.models import ShopDelivery, ShopWebhook
    from storefront.shopapi.tasks import shop_delivery_send_task

    ids: list[int] = []
    with tenant_context(shop), transaction.atomic():
        for event_id, payload in payloads:
            ids += deliveries_record(
                model=ShopDelivery,
                webhooks=ShopWebhook.objects.filter(is_active=True),
                event="order.paid",
                event_id=event_id,
                payload=payload,
            )
    connection.set_schema_to_public()
    rec.reset(len(ids))
    failed: list[BaseException] = []

    def run(chunk: list[int]) -> None:
        try:
            with tenant_context(shop):
                for pk in chunk:
                    shop_delivery_send_task(delivery_id=pk)
        except BaseException as exc:  # reported after the join
            failed.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(ids[n::threads],)) for n in range(threads)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=600)
    took = time.perf_counter() - started
    if failed:
        raise failed[0]
    return ids, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured per case")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument(
        "--walk-pages", type=int, default=0, help="pages of the cursor walk (default 0: all)"
    )
    parser.add_argument("--deliveries", type=int, default=2_000)
    parser.add_argument(
        "--direct", type=int, default=500, help="deliveries sent by the task body in threads"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/api.py needs wrk (apt-get install wrk)")

    run_started = time.perf_counter()
    sf = load_bench("bench_storefront", "storefront.py")
    sf.DB_NAME = DB_NAME
    dash = load_bench("bench_analytics_dashboard", "analytics_dashboard.py")
    var_dir = Path(tempfile.mkdtemp(prefix="vstore-bench-api-"))
    env = environment(sf, var_dir)
    os.environ.update(env)
    sf.setup_data()
    import redis as redis_lib

    redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()  # no cache, counts or tasks of before

    from django_tenants.utils import tenant_context

    from storefront.models import Order
    from tenants.models import Tenant

    shop = Tenant.objects.get(schema_name__startswith="shop_bench")
    started = time.perf_counter()
    dash.orders_fill(shop, orders=ORDERS - 1_000)  # and 1,000 unpaid or expired
    with tenant_context(shop):
        total = Order.objects.count()
    print(f"made {total:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
    token = token_make(shop)
    host = sf.HOST
    auth = {"Host": host, "Authorization": f"Bearer {token}"}

    server = sf.Server(env, page_cache_seconds=0, log=var_dir / "gunicorn.log",
                       workers=args.workers)  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    try:
        server.wait_ready("/bench/bare/")
        started = time.perf_counter()
        cursors, page_ms = walk(server.port, host, token, pages=args.walk_pages)
        walked = time.perf_counter() - started
        deep = cursors[len(cursors) // 10 :: 10]  # pages from the 10th percent on
        queries = queries_per_request(
            host,
            token,
            {
                "bare view": "/bench/bare/",
                "orders page 1": orders_path(),
                "orders deep page": orders_path(cursors[len(cursors) // 2]),
            },
        )
        print(f"\ngunicorn, production's worker count; wrk, {args.connections} connections:")
        results["bare"] = measure(sf, server.port, "bare view", "/bench/bare/", args,
                                  headers={"Host": host})  # fmt: skip
        results["page1"] = measure(sf, server.port, "orders, page 1", orders_path(), args,
                                   headers=auth)  # fmt: skip
        results["deep"] = measure(
            sf, server.port, f"orders, {len(deep)} deep pages", orders_path(), args,
            headers=auth, cursors=deep,
        )  # fmt: skip
        results["bare again"] = measure(sf, server.port, "bare view, again", "/bench/bare/", args,
                                        headers={"Host": host})  # fmt: skip
    finally:
        server.stop()

    # --- webhooks
    from storefront.shopapi.events import order_event_data
    from storefront.shopapi.services import shop_webhook_create

    with tenant_context(shop):  # the product's payloads, made before any timing
        payloads = [
            (f"order.paid:{o.number}", order_event_data(o))
            for o in Order.objects.order_by("-pk")[: args.deliveries + WARM_DELIVERIES]
        ]
    rec = Receiver()
    worker = Worker(env, concurrency=args.worker_concurrency, log=var_dir / "worker.log")
    try:
        with tenant_context(shop):
            hook = shop_webhook_create(url=rec.url, events=["order.paid"])
        send_and_wait(shop, rec, worker, payloads[:WARM_DELIVERIES], timeout=180)
        ids, committed, queued, done = send_and_wait(
            shop, rec, worker, payloads[WARM_DELIVERIES:], timeout=max(120, args.deliveries / 5)
        )
        worker.stop()  # before the direct run: nothing else sends
        once, succeeded = delivered(shop, ids)
        got_ids = [d for d, _s, _b in rec.got]
        signed = sum(signature_ok(hook.secret, s, b) for _d, s, b in rec.got)
        exactly_once = len(got_ids) == len(set(got_ids)) == len(ids) and {
            int(d) for d in got_ids
        } == set(ids)
        direct_ids: list[int] = []
        direct_took, direct_once = 0.0, 0
        if args.direct:
            direct_payloads = [(f"{e}:direct", p) for e, p in payloads[WARM_DELIVERIES:]]
            direct_ids, direct_took = direct(
                shop, rec, direct_payloads[: args.direct], threads=args.worker_concurrency
            )
            direct_once = delivered(shop, direct_ids)[0]
            direct_got = sorted(int(d) for d, _s, _b in rec.got)
            if direct_once != len(direct_ids) or direct_got != sorted(direct_ids):
                raise RuntimeError(
                    f"direct: {direct_once}/{len(direct_ids)} delivered at once,"
                    f" {len(direct_got)} received"
                )
    finally:
        worker.stop()
        rec.stop()
    elapsed = done - committed

    # --- the figures
    bare = results["bare"]
    print(
        f"\n{os.cpu_count()} cores; load average: "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + f"; {total:,} orders in the shop; API rate raised to {API_RATE}"
    )
    print("one request in this process (Django's test client):")
    for name, figure in queries.items():
        print(f"  {name:18s} {figure}")
    print(
        f"cursor walk, one client, {len(page_ms)} pages of {LIMIT}: {walked:.1f} s"
        f" ({len(page_ms) / walked:.0f} pages/s); per page median {statistics.median(page_ms):.0f}"
        f" ms, p99 {sorted(page_ms)[int(0.99 * (len(page_ms) - 1))]:.0f} ms; first page"
        f" {page_ms[0]:.0f} ms, middle {page_ms[len(page_ms) // 2]:.0f} ms, last"
        f" {page_ms[-1]:.0f} ms; "
        + ("every order once" if not args.walk_pages else "no order twice")
    )
    print(f"{'case':24s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'÷ bare':>7s}")
    rows = (("bare view", "bare"), ("orders page 1", "page1"),
            ("orders deep pages", "deep"), ("bare view, again", "bare again"))  # fmt: skip
    for name, key in rows:
        r = results[key]
        ratio = r["rps"] / bare["rps"]
        print(f"{name:24s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {ratio:7.3f}")
    for name, key in (("page 1", "page1"), ("deep pages", "deep")):
        r = results[key]
        ratio = r["rps"] / bare["rps"]
        met = ratio >= TARGET_RATIO and r["p99"] <= TARGET_P99_MS
        print(
            f"orders {name}: {ratio:.3f}× the bare view's req/s, p99 {r['p99'] / bare['p99']:.1f}×"
            f" the bare view's (reference, the storefront's uncached pages: ≥{TARGET_RATIO}×, p99"
            f" ≤ {TARGET_P99_MS} ms: {'met' if met else 'missed'})"
        )
    print(
        f"\nwebhooks: {len(ids)} order.paid deliveries through a Celery worker"
        f" (prefork, {args.worker_concurrency} processes) to a receiver on 127.0.0.1:"
        f" {len(ids) / elapsed:.0f} deliveries/s ({elapsed:.1f} s from the commit to the last"
        f" marked delivered; the tasks were queued in {queued - committed:.1f} s)"
    )
    print(
        f"  delivered: {succeeded}/{len(ids)} (after one attempt: {once}); received exactly once:"
        f" {'yes' if exactly_once else 'NO'}; signatures valid: {signed}/{len(got_ids)}"
    )
    if direct_ids:
        print(
            f"  the task's body called directly in {args.worker_concurrency} threads here (no"
            f" broker, no worker): {len(direct_ids) / direct_took:.0f} deliveries/s"
            f" ({len(direct_ids)} in {direct_took:.1f} s; each delivered at once, received once)"
        )
    print(f"bench ran {time.perf_counter() - run_started:.0f} s")
    shutil.rmtree(var_dir, ignore_errors=True)
    if succeeded != len(ids) or not exactly_once or signed != len(got_ids):
        sys.exit(1)


if __name__ == "__main__":
    main()
