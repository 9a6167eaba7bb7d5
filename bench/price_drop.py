"""How many counted-share visits per second a price drop's share endpoint sustains, against a
bare view in the same server and run (target ≥ 0.7× the bare view).

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/price_drop.py [--seconds N]

Works in bench/storefront.py's database (vstore_bench_price_drop, dropped and made anew) and
Redis database 12, with its gunicorn server (deploy/gunicorn.conf.py, DEBUG off, persistent
connections) and its bare view /bench/bare/ (same middleware, two bytes).

The shop gets one running price drop and SHARERS fans with their own links. The load (wrk with
a Lua script, else an asyncio generator) sends every request through a different sharer's
link, from a different client address (X-Forwarded-For from the trusted loopback proxy) and
without a device cookie: each visit is a new visitor who is not the sharer, so every visit is
a counted share until the sharers run out (the run says how many counted). Each visit runs the
whole path as gunicorn serves it (config.wsgi: the share edge, storefront/pricedrop/edge.py, in
front of Django): the shop from the host, the sharer's row (a new link every time: one query
each), one Lua script in Redis, and the redirect with the signed share cookie. Figures move
with the load of the machine (eight people shared its 2 cores when this was written): read
the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_price_drop"
REDIS_DB = "/12"
SHARERS = 40_000
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44 NetType/WIFI Language/zh_CN"
)


def storefront_bench():
    spec = importlib.util.spec_from_file_location("bench_storefront", ROOT / "bench/storefront.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.DB_NAME = DB_NAME
    return module


def environment(sf, var_dir: Path) -> dict[str, str]:
    env = sf.environment(var_dir)
    redis = urlsplit(os.environ["REDIS_URL"])
    env.update(
        REDIS_URL=urlunsplit(redis._replace(path=REDIS_DB)),
        VSTORE_CACHE_PREFIX="vstore-bench-price-drop",
        VSTORE_TRUSTED_PROXIES="127.0.0.1",
        DJANGO_SECRET_KEY="bench-price-drop-not-secret",
    )
    return env


def setup_drop(sharers: int) -> tuple[int, list[str]]:
    """A running price drop in the bench shop and SHARERS fans' links; (its id, their codes)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from storefront.models import Fan, ListingItem, ShareLink
    from storefront.pricedrop.models import DropSharer
    from storefront.pricedrop.services import Terms, pricedrop_create
    from storefront.sharing.services import share_code_new
    from tenants.models import Tenant

    shop = Tenant.objects.get(schema_name__startswith="shop_bench")
    with tenant_context(shop):
        item = ListingItem.objects.select_related("sku").order_by("pk").first()
        now = timezone.now()
        low = item.sku.min_retail_fen
        campaign = pricedrop_create(
            item=item,
            terms=Terms(
                title="bench",
                start_price_fen=item.retail_price_fen,
                step_fen=1,
                floor_fen=low,
                quantity=10,
                per_fan_limit=1,
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(days=1),
            ),
        )
        fans = Fan.objects.bulk_create(
            [Fan(mobile=f"138{n:08d}") for n in range(sharers)], batch_size=5000
        )
        links = ShareLink.objects.bulk_create(
            [ShareLink(code=share_code_new(), listing_id=item.listing_id, sharer=f) for f in fans],
            batch_size=5000,
        )
        DropSharer.objects.bulk_create(
            [
                DropSharer(campaign=campaign, fan=f, share_link=link)
                for f, link in zip(fans, links, strict=True)
            ],
            batch_size=5000,
        )
        return campaign.pk, [link.code for link in links]


WRK_SCRIPT = """
codes = {%(codes)s}
n = 0
request = function()
  n = n + 1
  wrk.headers["Host"] = "%(host)s"
  wrk.headers["User-Agent"] = "%(agent)s"
  local a, b, c = n %% 250, math.floor(n / 250) %% 250, math.floor(n / 62500) %% 250 + 1
  wrk.headers["X-Forwarded-For"] = "10." .. a .. "." .. b .. "." .. c
  return wrk.format(nil, "/drop/%(drop)d/s/" .. codes[(n %% #codes) + 1] .. "/")
end
"""


def share_wrk(sf, port: int, *, drop: int, codes: list[str], connections: int, seconds: float):
    script = WRK_SCRIPT % {
        "codes": ",".join(f'"{c}"' for c in codes),
        "host": sf.HOST,
        "agent": PHONE,
        "drop": drop,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        done = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", f.name, f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True, timeout=seconds + 120,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    import re

    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99_ms = float(p99.group(1)) * sf.WRK_UNITS[p99.group(2)] if p99 else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, requests, p99_ms, int(bad.group(1)) if bad else 0


async def share_asyncio(
    port: int, *, host: str, drop: int, codes: list[str], connections: int, seconds: float
) -> tuple[float, int, float, int]:
    count = errors = 0
    stop_at = time.perf_counter() + seconds
    latencies: list[float] = []

    async def client(offset: int) -> None:
        nonlocal count, errors
        n = offset
        while time.perf_counter() < stop_at and count < 200_000:
            n += connections
            code = codes[n % len(codes)]
            raw = (
                f"GET /drop/{drop}/s/{code}/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {PHONE}\r\n"
                f"X-Forwarded-For: 10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            body = await reader.read()
            writer.close()
            latencies.append((time.perf_counter() - t0) * 1000)
            count += 1
            if not body.startswith((b"HTTP/1.1 302", b"HTTP/1.0 302")):
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(connections)))
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    return count / (time.perf_counter() - start), count, p99, errors


def counted_now(drop: int) -> int:
    from django_tenants.utils import tenant_context

    from storefront.pricedrop import counting
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(schema_name__startswith="shop_bench")):
        return counting.live_count(campaign_id=drop) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--sharers", type=int, default=SHARERS)
    parser.add_argument(
        "--loadgen",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
    )
    args = parser.parse_args()

    sf = storefront_bench()
    var_dir = Path(tempfile.mkdtemp(prefix="vstore-bench-price-drop-"))
    env = environment(sf, var_dir)
    os.environ.update(
        DATABASE_URL=env["DATABASE_URL"],
        REDIS_URL=env["REDIS_URL"],
        DJANGO_SECRET_KEY=env["DJANGO_SECRET_KEY"],
        VSTORE_CACHE_PREFIX=env["VSTORE_CACHE_PREFIX"],
    )
    sf.setup_data()
    import redis as redis_lib

    redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()
    drop, codes = setup_drop(args.sharers)
    print(f"price drop {drop} with {len(codes)} sharers; load: {args.loadgen}", flush=True)

    server = sf.Server(env, page_cache_seconds=0, log=var_dir / "gunicorn.log",
                       workers=args.workers)  # fmt: skip
    try:
        server.wait_ready("/bench/bare/")
        args.loadgen = args.loadgen
        bare = sf.measure(server.port, "bare view", "/bench/bare/", args)
        # Warm-up through links that are then spent (their shares counted): not measured.
        warm = codes[: min(200, len(codes) // 10)]
        rest = codes[len(warm) :]
        if args.loadgen == "wrk":
            share_wrk(sf, server.port, drop=drop, codes=warm, connections=args.connections,
                      seconds=args.warmup)  # fmt: skip
        before = counted_now(drop)
        t0 = time.perf_counter()
        if args.loadgen == "wrk":
            rps, requests, p99, errors = share_wrk(
                sf, server.port, drop=drop, codes=rest, connections=args.connections,
                seconds=args.seconds,
            )  # fmt: skip
        else:
            rps, requests, p99, errors = asyncio.run(
                share_asyncio(server.port, host=sf.HOST, drop=drop, codes=rest,
                              connections=args.connections, seconds=args.seconds)
            )  # fmt: skip
        elapsed = time.perf_counter() - t0
        counted = counted_now(drop) - before
        print(
            f"  {'share link (counted visits)':28s} {rps:8.0f} req/s  p99 {p99:6.1f} ms"
            f"  ({requests} requests, {errors} errors, {counted} counted shares)",
            flush=True,
        )
        counted_rps = counted / elapsed if elapsed else 0.0
        print(f"\ncounted-share visits/s: {counted_rps:.0f} ({counted}/{requests} visits counted)")
        print(f"share endpoint / bare view: {rps / bare.rps:.2f}x (target ≥ 0.7x)")
        print(f"counted shares/s / bare view: {counted_rps / bare.rps:.2f}x")
        print("(absolute figures move with the machine's load; the ratio is the figure)")
    finally:
        server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
