"""How fast a shop's pages are served: an article with 6 product cards and a product page,
with and without the page cache (cms/page_cache.py), against a bare view in the same server.

    make bench                      (all benchmarks), or
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/storefront.py [--seconds N]

Works in its own database (vstore_bench_storefront, dropped and made anew) on the server
DATABASE_URL names, and Redis database 14, so the demo data is untouched. The server is the
production one: gunicorn with deploy/gunicorn.conf.py, DEBUG off,
config.settings.base with persistent connections (CONN_MAX_AGE 600). The only addition is a
bare view at /bench/bare/ on the shop's host (bench/storefront_site/), which runs the same
middleware (the shop lookup included) and returns two bytes.

The server runs twice: page cache off, then on (60 s, longer than a run, so "cached" is the hit
path). "Uncached" turns off the full-page cache only: the shop data cache (core/shop_cache.py,
a few seconds) is part of every render, as in production. Each run measures the bare view, then
the two pages, holding --connections requests in flight for --seconds after a warm-up. The load
comes from wrk when it is installed (C, epoll, one thread: it leaves the cores to the server),
else from an asyncio generator here (one new connection per request, and it takes a good share
of the CPU). gunicorn runs with the production config's worker count (2 per core) unless
--workers says otherwise. Figures move with the load of the machine: compare the ratios,
measured in the same run. In a closed loop, a p99 is at least connections / (requests per
second): p99 ≤ 100 ms at 32 connections needs ≥ 320 req/s from the page.
--limit-set-calls serves with django-tenants' TENANT_LIMIT_SET_CALLS to show what it changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_storefront"
HOST = "bench.localhost"
CARDS = 6
MAX_REQUESTS = 200_000  # a bound on one measurement, whatever --seconds says


def bench_database_url() -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(url._replace(path=f"/{DB_NAME}"))


def environment(var_dir: Path) -> dict[str, str]:
    """The production settings, pointed at the bench's database, Redis database and files."""
    redis = urlsplit(os.environ["REDIS_URL"])
    env = dict(
        os.environ,
        DATABASE_URL=bench_database_url(),
        REDIS_URL=urlunsplit(redis._replace(path="/14")),
        DJANGO_SETTINGS_MODULE="storefront_site.settings",
        DJANGO_DEBUG="0",
        # Plain HTTP on loopback, no TLS proxy in front: without this every request is a 301
        # to https (production's default) and the server never answers a page.
        VSTORE_HTTPS="0",
        DJANGO_SECRET_KEY="bench-storefront-not-secret",
        DATABASE_CONN_MAX_AGE="600",
        VSTORE_CACHE_PREFIX="vstore-bench-storefront",
        VSTORE_POOL_SIZE="0",
        VSTORE_VAR_DIR=str(var_dir),
        DJANGO_MEDIA_ROOT=str(var_dir / "media"),
        LOG_LEVEL="WARNING",
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), env.get("PYTHONPATH", "")])
    return env


def setup_data() -> dict[str, str]:
    """The platform, one shop, 6 listed goods and an article with a card for each; the paths."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from catalog.testing import product_make
    from cms.models import ArticlePage, HomePage, ShopIndexPage
    from storefront.services import listing_create
    from tenants.provisioning import template_ensure
    from tenants.services import platform_ensure, shop_create

    print("setting up the bench database (migrations, template, one shop)…", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    platform_ensure()
    template_ensure()
    shop = shop_create(name="Bench shop", subdomain="bench")
    products = [product_make(skus=2, stock=500) for _ in range(CARDS)]
    with tenant_context(shop):
        listings = [
            listing_create(
                product=p,
                title=f"宝妈推荐好物 {n}",
                copy="<p>我家在用，真心推荐。</p>",
                prices={sku.pk: 8800 + 100 * i for i, sku in enumerate(p.skus.order_by("pk"))},
            )
            for n, p in enumerate(products, 1)
        ]
        body = []
        for n, listing in enumerate(listings, 1):
            body.append({"type": "paragraph", "value": f"<p>第 {n} 件：为什么我推荐它。</p>"})
            body.append(
                {"type": "product_card", "value": {"listing": listing.pk, "note": "真心推荐"}}
            )
        article = HomePage.objects.get().add_child(
            instance=ArticlePage(title="六件好物", slug="six-cards", summary="带货", body=body)
        )
        shop_page = ShopIndexPage.objects.get()
        product = shop_page.url + shop_page.product_path(listings[0].pk).lstrip("/")
        return {"article": article.url, "product": product}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c deploy/gunicorn.conf.py on a loopback port."""

    def __init__(
        self, env: dict[str, str], *, page_cache_seconds: int, log: Path, workers: int | None
    ) -> None:
        self.port = free_port()
        env = dict(
            env,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            VSTORE_PAGE_CACHE_SECONDS=str(page_cache_seconds),
        )
        if workers:  # else the production config's own count
            env["GUNICORN_WORKERS"] = str(workers)
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"),
             "config.wsgi"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                status, _ = asyncio.run(fetch(self.port, path))
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)  # polling a starting server; not a test
        # The log goes with the bench's temporary directory: say what it held.
        raise RuntimeError(
            f"gunicorn did not answer {path} in {timeout} s (last: {last}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def request_bytes(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Language: zh-hans\r\n"
        "User-Agent: vstore-bench\r\nConnection: close\r\n\r\n"
    ).encode()


async def fetch(port: int, path: str, raw: bytes | None = None) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw or request_bytes(path))
        body = await reader.read()  # to EOF: the server closes after the response
    finally:
        writer.close()
    status = int(body[9:12]) if body.startswith(b"HTTP/1.") else 0
    return status, len(body)


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    wrk: dict[str, float] | None = None  # wrk's own figures, when wrk made the load

    @property
    def rps(self) -> float:
        return self.wrk["rps"] if self.wrk else self.requests / self.seconds

    def pct(self, q: float) -> float:
        if self.wrk:
            return self.wrk[{0.5: "p50", 0.99: "p99"}[q]]
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")


async def load(port: int, path: str, *, connections: int, seconds: float, warmup: float):
    """CONNECTIONS clients, each sending its next request as soon as the last one is answered."""
    raw = request_bytes(path)
    latencies: list[float] = []
    errors = 0
    count = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client() -> None:
        nonlocal errors, count
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at or count >= MAX_REQUESTS:
                return
            try:
                status, _ = await fetch(port, path, raw)
            except OSError:
                status = 0
            t1 = time.perf_counter()
            if t0 >= measure_from:
                count += 1
                if status == 200:
                    latencies.append((t1 - t0) * 1000)
                else:
                    errors += 1

    await asyncio.gather(*(client() for _ in range(connections)))
    return count, errors, latencies, time.perf_counter() - measure_from


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, path: str, *, connections: int, seconds: float) -> dict[str, float]:
    """One wrk run (C, epoll, one thread): req/s, p50 and p99 in ms, requests and errors."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
         "-H", f"Host: {HOST}", "-H", "Accept-Language: zh-hans",
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    out = done.stdout

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * WRK_UNITS[m.group(2)] if m else float("nan")

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(x) for x in socket.groups()) if socket else 0
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": requests,
        "errors": errors,
    }


def measure(port: int, name: str, path: str, args: argparse.Namespace) -> Result:
    if args.loadgen == "wrk":
        wrk(port, path, connections=args.connections, seconds=args.warmup)  # warm-up, dropped
        w = wrk(port, path, connections=args.connections, seconds=args.seconds)
        result = Result(name, int(w["requests"]), int(w["errors"]), args.seconds, [])
        result.wrk = w
    else:
        count, errors, latencies, elapsed = asyncio.run(
            load(port, path, connections=args.connections, seconds=args.seconds, warmup=args.warmup)
        )
        result = Result(name, count, errors, min(elapsed, args.seconds), latencies)
    print(
        f"  {name:28s} {result.rps:8.0f} req/s  p50 {result.pct(0.5):6.1f} ms"
        f"  p99 {result.pct(0.99):6.1f} ms  ({result.requests} requests, {result.errors} errors)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured per case")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: deploy/gunicorn.conf.py's, 2 per core)",
    )
    parser.add_argument(
        "--loadgen",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="wrk (C, default when installed) or the asyncio one (one connection per request)",
    )
    parser.add_argument(
        "--data-cache-seconds",
        type=int,
        default=None,
        help="VSTORE_SHOP_DATA_CACHE_SECONDS for the server (0: off; default: the settings')",
    )
    parser.add_argument(
        "--limit-set-calls",
        action="store_true",
        help="serve with django-tenants' TENANT_LIMIT_SET_CALLS (one SET search_path a request)",
    )
    args = parser.parse_args()

    var_dir = ROOT / "var" / "bench-storefront"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = environment(var_dir)
    if args.limit_set_calls:
        env["BENCH_TENANT_LIMIT_SET_CALLS"] = "1"
    if args.data_cache_seconds is not None:
        env["VSTORE_SHOP_DATA_CACHE_SECONDS"] = str(args.data_cache_seconds)
    os.environ.update(env)
    paths = setup_data()
    print(f"article with {CARDS} cards: {paths['article']}; product page: {paths['product']}")

    results: dict[str, Result] = {}
    for label, seconds in (("uncached", 0), ("cached", 60)):
        workers = args.workers or "production config's"
        print(f"\ngunicorn, {workers} sync workers, page cache {label} ({seconds} s):", flush=True)
        server = Server(
            env,
            page_cache_seconds=seconds,
            log=var_dir / f"gunicorn-{label}.log",
            workers=args.workers,
        )
        try:
            server.wait_ready("/bench/bare/")
            for path in paths.values():  # first renders (templates, site root) outside timing
                asyncio.run(fetch(server.port, path))
            results[f"bare ({label} run)"] = measure(server.port, "bare view", "/bench/bare/", args)
            results[f"article {label}"] = measure(
                server.port, f"article, {CARDS} cards, {label}", paths["article"], args
            )
            results[f"product {label}"] = measure(
                server.port, f"product page, {label}", paths["product"], args
            )
        finally:
            server.stop()

    print(
        f"\n{args.connections} connections, {args.seconds:.0f} s each, load from {args.loadgen},"
        f" {os.cpu_count()} cores"
        + (
            f", shop data cache {args.data_cache_seconds} s"
            if args.data_cache_seconds is not None
            else ""
        )
        + f"{', TENANT_LIMIT_SET_CALLS' if args.limit_set_calls else ''}; load average: "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(f"{'case':24s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'÷ bare':>7s}  target")
    targets = {"cached": 0.60, "uncached": 0.25}
    for label in ("uncached", "cached"):
        bare = results[f"bare ({label} run)"]
        rows = [(f"bare ({label} run)", bare, None)]
        rows += [(f"{page} {label}", results[f"{page} {label}"], targets[label])
                 for page in ("article", "product")]  # fmt: skip
        for name, r, target in rows:
            ratio = r.rps / bare.rps
            goal = ""
            if target is not None:
                met = ratio >= target and r.pct(0.99) <= 100
                goal = f"≥{target:.0%}, p99 ≤ 100 ms: {'met' if met else 'missed'}"
            print(
                f"{name:24s} {r.rps:8.0f} {r.pct(0.5):8.1f} {r.pct(0.99):8.1f} {ratio:7.2f}  {goal}"
            )


if __name__ == "__main__":
    main()
