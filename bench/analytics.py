"""What counting a shop's events costs (storefront/analytics): the rollup of 1,000,000 events,
a cached page with the counting beacon against the same page without it, and the beacon's own
rate; plus the seam for the dashboard's render figure (a shop with 100,000 orders).

    make bench                      (all benchmarks), or
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/analytics.py [--seconds N]

Works in its own database (vstore_bench_analytics, dropped and made anew) and Redis database
13, so the demo data is untouched; the servers are bench/storefront.py's (gunicorn with
deploy/gunicorn.conf.py, DEBUG off, persistent connections), with the same article (6 product
cards) and load generator (wrk when installed).

1. Rollup: Redis is filled with exactly what 1,000,000 calls of event_count would leave (the
   same HINCRBY per event, sent in pipelines of 10,000 to save the bench's time), over one day,
   500 pages, 2,000 listings, 7 events and 4 sources (a high-cardinality worst case: ~400,000
   distinct rows), and 200,000 distinct visitors; then the beat task runs once, timed, and the
   rows are checked to sum to 1,000,000. What one event_count call costs is timed apart
   (20,000 calls, one pipeline each, as a request pays it).
2. Cached page: the server runs with the page cache on (60 s: every request is the hit path)
   twice, VSTORE_ANALYTICS_BEACON on and off; the ratio of the article's req/s is the cost of
   carrying the beacon (target ≥ 0.9). The beacon is a separate request a reader's browser
   sends; its own req/s is measured with a phone's user agent and a different client address
   per request (through X-Forwarded-For from a trusted proxy, so the per-client limit admits
   them as it would many readers).
3. Dashboard: dashboard_render_figure(shop) hands the same shop to bench/analytics_dashboard.py,
   which adds 100,000 orders and times the dashboard's uncached render (--skip-dashboard: not).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_analytics"
REDIS_DB = "/13"
EVENTS = 1_000_000
PAGES, LISTINGS, VISITORS = 500, 2_000, 200_000
SOURCES = ("", "share", "campaign:3", "coupon:SPRING")
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44 NetType/WIFI Language/zh_CN"
)


def storefront_bench():
    """bench/storefront.py as a module (its file name is the storefront package's)."""
    spec = importlib.util.spec_from_file_location("bench_storefront", ROOT / "bench/storefront.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    module.DB_NAME = DB_NAME
    return module


def environment(sf, var_dir: Path) -> dict[str, str]:
    env = sf.environment(var_dir)
    redis = urlsplit(os.environ["REDIS_URL"])
    env.update(
        REDIS_URL=urlunsplit(redis._replace(path=REDIS_DB)),
        VSTORE_CACHE_PREFIX="vstore-bench-analytics",
        VSTORE_TRUSTED_PROXIES="127.0.0.1",
        DJANGO_SECRET_KEY="bench-analytics-not-secret",
    )
    return env


# --- 1. the rollup ------------------------------------------------------------------------------


def redis_fill(*, shop_id: int, events: int, seed: int = 16) -> None:
    """Redis as EVENTS calls of event_count would leave it (same keys, fields and counts)."""
    from django.utils import timezone

    from storefront.analytics.counting import LIVE_TTL, Event, day_text, key, rollup_client
    from storefront.analytics.models import EVENTS as NAMES

    redis = rollup_client()  # pipelines of 10,000 commands outlast a page's 2 s timeout
    redis.flushdb()
    rng = random.Random(seed)
    today = day_text(timezone.localdate())
    live, seen = key(shop_id, f"c:{today}"), key(shop_id, f"u:{today}")
    done = 0
    while done < events:
        pipe = redis.pipeline(transaction=False)
        batch = min(10_000, events - done)
        for _ in range(batch):
            item = Event(
                rng.choice(NAMES),
                rng.randrange(1, PAGES + 1),
                rng.randrange(1, LISTINGS + 1),
                rng.choice(SOURCES),
            )
            pipe.hincrby(live, item.field(), 1)
        # Every visitor comes back: VISITORS distinct ones in all, each several times.
        pipe.pfadd(seen, *(f"v{(done + n) % VISITORS}" for n in range(batch)))
        pipe.execute()
        done += batch
    pipe = redis.pipeline(transaction=False)
    pipe.expire(live, LIVE_TTL)
    pipe.sadd(key(shop_id, "days"), today)
    pipe.sadd(key(shop_id, "udays"), today)
    pipe.execute()


def event_count_cost(*, shop_id: int, calls: int = 20_000) -> float:
    """Microseconds one event_count call takes (one Redis pipeline), measured over CALLS."""
    from storefront.analytics.counting import event_count

    start = time.perf_counter()
    for n in range(calls):
        event_count(
            shop_id=shop_id,
            event="article_view",
            page_id=1 + n % PAGES,
            visitor=f"cost-{n}",
        )
    return (time.perf_counter() - start) / calls * 1e6


def rollup_figure(shop, *, events: int = EVENTS) -> dict[str, float]:
    """Fill Redis with EVENTS events of SHOP, run the beat task once; seconds, rows, checks."""
    from django.db.models import Sum
    from django_tenants.utils import tenant_context

    from storefront.analytics.counting import client
    from storefront.analytics.models import DailyCount, DailyVisitors
    from storefront.analytics.tasks import analytics_rollup_task

    print(f"filling Redis with {events:,} events…", flush=True)
    fill_start = time.perf_counter()
    redis_fill(shop_id=shop.pk, events=events)
    fill_seconds = time.perf_counter() - fill_start
    fields = sum(client().hlen(k) for k in client().scan_iter("vs:an:*:c:*"))
    start = time.perf_counter()
    rolled = analytics_rollup_task.apply().get()
    seconds = time.perf_counter() - start
    with tenant_context(shop):
        summed = DailyCount.objects.aggregate(n=Sum("count"))["n"]
        rows = DailyCount.objects.count()
        visitors = DailyVisitors.objects.get().visitors
    assert rolled == events == summed, (rolled, events, summed)
    again_start = time.perf_counter()
    assert analytics_rollup_task.apply().get() == 0  # nothing left: the next minute is cheap
    idle = time.perf_counter() - again_start
    cost = event_count_cost(shop_id=shop.pk)
    return {
        "fill_seconds": fill_seconds,
        "fields": fields,
        "seconds": seconds,
        "rows": rows,
        "visitors": visitors,
        "idle_seconds": idle,
        "event_count_us": cost,
    }


# --- 2. the cached page and the beacon ----------------------------------------------------------

BEACON_LUA = """
wrk.method = "POST"
wrk.headers["Host"] = "%(host)s"
wrk.headers["User-Agent"] = "%(agent)s"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.body = '{"p": %(page)d, "e": [["article_view", 0], ["card_impression", %(listing)d]]}'
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-Forwarded-For"] = "10." .. (n %% 250) .. "." .. (math.floor(n / 250) %% 250)
    .. "." .. math.random(1, 254)
  return wrk.format(nil, "/a/e")
end
"""


def beacon_wrk(port: int, *, host: str, page: int, listing: int, connections: int,
               seconds: float) -> dict[str, float]:  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(BEACON_LUA % {"host": host, "agent": PHONE, "page": page, "listing": listing})
    try:
        done = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", script.name, f"http://127.0.0.1:{port}/a/e"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    import re

    out = done.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": int(bad.group(1)) if bad else 0,
        "p99": float(p99.group(1)) * units[p99.group(2)] if p99 else float("nan"),
    }


def page_figures(sf, env, paths, ids, args, var_dir: Path) -> dict[str, object]:
    import asyncio

    results: dict[str, object] = {}
    for label, on in (("without beacon", "0"), ("with beacon", "1")):
        print(f"\ngunicorn, page cache on (hit path), {label}:", flush=True)
        # A cache prefix of its own per case: the page cache lives in Redis for 60 s, so the
        # second server would otherwise serve the first one's stored copy (beacon or not).
        server = sf.Server(
            dict(
                env,
                VSTORE_ANALYTICS_BEACON=on,
                VSTORE_CACHE_PREFIX=f"{env['VSTORE_CACHE_PREFIX']}-beacon{on}",
            ),
            page_cache_seconds=60,
            log=var_dir / f"gunicorn-{on}.log",
            workers=args.workers,
        )
        try:
            server.wait_ready("/bench/bare/")
            asyncio.run(sf.fetch(server.port, paths["article"]))
            body = asyncio.run(fetch_body(server.port, paths["article"], sf.HOST))
            assert (b"navigator.sendBeacon" in body) == (on == "1"), label
            results[label] = sf.measure(server.port, f"article, cached, {label}", paths["article"],
                                        args)  # fmt: skip
            if on == "1":
                if args.loadgen == "wrk":
                    beacon = beacon_wrk(
                        server.port, host=sf.HOST, page=ids["page"], listing=ids["listing"],
                        connections=args.connections, seconds=args.seconds,
                    )  # fmt: skip
                    print(
                        f"  {'beacon POST /a/e':28s} {beacon['rps']:8.0f} req/s  p99"
                        f" {beacon['p99']:6.1f} ms  ({beacon['requests']} requests,"
                        f" {beacon['errors']} not 204)",
                        flush=True,
                    )
                    results["beacon"] = beacon
                else:
                    print("  beacon: needs wrk (POST bodies); skipped", flush=True)
        finally:
            server.stop()
    return results


async def fetch_body(port: int, path: str, host: str) -> bytes:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Language: zh-hans\r\n"
        f"User-Agent: {PHONE}\r\nConnection: close\r\n\r\n".encode()
    )
    body = await reader.read()
    writer.close()
    return body


# --- 3. the dashboard (seam) --------------------------------------------------------------------


def dashboard_render_figure(shop) -> str | None:
    """The dashboard's render time for SHOP (uncached, target ≤ 300 ms with 100,000 orders):
    bench/analytics_dashboard.py makes the orders in SHOP and times it; one summary line, or
    None when that bench is not here. SHOP's DailyCount already holds the events rolled up
    above."""
    path = ROOT / "bench/analytics_dashboard.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_analytics_dashboard", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.dashboard_render_figure(shop)


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured per case")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--loadgen",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
    )
    parser.add_argument("--skip-pages", action="store_true", help="the rollup figure only")
    parser.add_argument(
        "--skip-dashboard", action="store_true", help="no dashboard figure (100,000 orders)"
    )
    args = parser.parse_args()

    sf = storefront_bench()
    var_dir = ROOT / "var" / "bench-analytics"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = environment(sf, var_dir)
    os.environ.update(env)
    paths = sf.setup_data()

    from django.db import connection
    from django_tenants.utils import tenant_context

    from storefront.models import Listing
    from tenants.models import Tenant

    shop = Tenant.objects.get(schema_name__startswith="shop_bench")
    with tenant_context(shop):
        from wagtail.models import Page

        ids = {
            "page": Page.objects.get(url_path__endswith="/six-cards/").pk,
            "listing": Listing.objects.order_by("pk").first().pk,
        }
    connection.set_schema_to_public()

    rollup = rollup_figure(shop, events=args.events)
    # At once: the page figures below start servers, which a loaded machine may not bring up.
    print(f"rollup: {rollup}", flush=True)
    pages: dict[str, Any] = {}
    pages_error = ""
    if not args.skip_pages:
        try:
            pages = page_figures(sf, env, paths, ids, args, var_dir)
        except Exception as exc:  # a server that does not come up must not lose the rest
            pages_error = f"{type(exc).__name__}: {exc}"
            print(f"cached-page figures not measured: {pages_error}", flush=True)
    dashboard = None
    if not args.skip_dashboard:
        try:
            dashboard = dashboard_render_figure(shop)
        except Exception as exc:
            dashboard = f"dashboard render: not measured ({type(exc).__name__}: {exc})"
        print(dashboard, flush=True)

    print(f"\n{os.cpu_count()} cores; load average: "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))  # fmt: skip
    met = "met" if rollup["seconds"] <= 60 else "missed"
    print(
        f"rollup of {args.events:,} events ({rollup['fields']:,.0f} distinct rows in Redis,"
        f" {rollup['rows']:,.0f} DailyCount rows): {rollup['seconds']:.1f} s"
        f"  (target ≤ 60 s: {met}); a quiet minute after it: {rollup['idle_seconds'] * 1000:.0f} ms"
    )
    print(
        f"visitors: {rollup['visitors']:,} counted of {VISITORS:,} distinct"
        f" ({(rollup['visitors'] / VISITORS - 1) * 100:+.2f} %; HyperLogLog standard error 0.81 %)"
    )
    print(f"event_count: {rollup['event_count_us']:.0f} µs a call (one Redis round trip)")
    if pages:
        with_b, without = pages["with beacon"], pages["without beacon"]
        ratio = with_b.rps / without.rps
        print(
            f"cached article: {with_b.rps:.0f} req/s with the beacon, {without.rps:.0f} without:"
            f" {ratio:.2f}× (target ≥ 0.9×: {'met' if ratio >= 0.9 else 'missed'})"
        )
        if "beacon" in pages:
            beacon = pages["beacon"]
            print(f"beacon endpoint: {beacon['rps']:.0f} req/s, p99 {beacon['p99']:.1f} ms")
    elif pages_error:
        print(f"cached article with and without the beacon: not measured ({pages_error})")
    print(dashboard or "dashboard render: skipped (--skip-dashboard)")


if __name__ == "__main__":
    main()
