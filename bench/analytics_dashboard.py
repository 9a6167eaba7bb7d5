"""How long the creator's dashboard takes to render, uncached, for a shop with 100,000 orders.

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/analytics_dashboard.py
        [--orders N] [--repeat N]

Works in its own database (vstore_bench_dashboard, dropped and made anew: bench/storefront.py's
setup makes the platform, the template, one shop with 6 listings and an article) and Redis
database 12, so the demo data is untouched. Then, in that shop:

- 100,000 paid orders (one line each, over 6 listings) spread over 90 days, by 20,000 fans of
  whom a quarter come back, plus 1,000 unpaid or expired ones that must not count;
- 90 days of daily rows shaped like 1,000,000+ events a month: 200 articles (real pages) ×
  (views, card impressions, taps, orders) × 2 sources a day (~144,000 DailyCount rows) and
  visitors.

It times what the shop admin's home does for the dashboard (dashboard_context: every selector
and chart, then the panel's template), uncached, for each period: the median and worst of
--repeat runs after one warm-up, for the owner (money) and customer service (no money), with
the paid orders rolled up by day (storefront/analytics/sales.py, as the minute task keeps them)
and, as the baseline in the same run, before any day was rolled up (every day read from the
orders). It also
times the whole admin home request (/admin/?period=90 through Django's test client, with
Wagtail's own panels) for scale. Target: ≤ 300 ms on 2 cores.

bench/analytics.py (the counting bench) can call dashboard_render_figure(shop) for its summary
line: it makes the orders in that shop and returns the figure as one line.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
DB_NAME = "vstore_bench_dashboard"
ORDERS = 100_000
FANS = 20_000
PERIODS = ("today", "7", "30", "90")
TARGET_MS = 300


def storefront_bench():
    """bench/storefront.py as a module (its file name is the storefront package's)."""
    spec = importlib.util.spec_from_file_location("bench_storefront", ROOT / "bench/storefront.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_storefront"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    module.DB_NAME = DB_NAME
    return module


def orders_fill(shop, *, orders: int = ORDERS, seed: int = 16) -> int:
    """ORDERS paid orders in SHOP over the last 90 days (rows made directly: the bench measures
    reading them, and 100,000 checkouts would take an hour). Returns the orders made."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from storefront.models import Fan, ListingItem, Order, OrderLine

    rng = random.Random(seed)
    now = timezone.now()
    with tenant_context(shop):
        if Order.objects.count() >= orders:
            return 0
        items = list(ListingItem.objects.select_related("sku__product", "listing"))
        Fan.objects.bulk_create(
            [Fan(mobile=f"1980{n:07d}", name=f"粉丝{n}") for n in range(FANS)],
            batch_size=5_000,
            ignore_conflicts=True,
        )
        fans = list(Fan.objects.values_list("pk", flat=True))
        loyal = fans[: len(fans) // 4]
        made = 0
        batch = 5_000
        for start in range(0, orders + 1_000, batch):
            rows, picks = [], []
            for n in range(start, min(start + batch, orders + 1_000)):
                paid = n < orders
                at = now - timedelta(seconds=rng.randint(0, 90 * 86_400 - 1))
                item = items[min(int(rng.expovariate(0.6)), len(items) - 1)]
                qty = rng.choice((1, 1, 1, 2, 3))
                goods = item.retail_price_fen * qty
                rows.append(
                    Order(
                        number=f"B{n:015d}",
                        status=Order.Status.PAID
                        if paid
                        else rng.choice((Order.Status.PENDING_PAYMENT, Order.Status.EXPIRED)),
                        fan_id=rng.choice(loyal if rng.random() < 0.4 else fans),
                        contact_mobile="13800138000",
                        recipient="王小明",
                        recipient_phone="13800138000",
                        province="浙江省",
                        city="杭州市",
                        district="西湖区",
                        street="文三路 100 号",
                        goods_fen=goods,
                        shipping_fen=0,
                        total_fen=goods,
                        pay_deadline=at + timedelta(minutes=30),
                        paid_at=at if paid else None,
                    )
                )
                picks.append((item, qty))
            created = Order.objects.bulk_create(rows)
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    listing_id=item.listing_id,
                    item=item,
                    sku=item.sku,
                    supplier_id=item.sku.product.supplier_id,
                    title=item.listing.title,
                    quantity=qty,
                    retail_price_fen=item.retail_price_fen,
                    supply_price_fen=item.sku.supply_price_fen,
                )
                for order, (item, qty) in zip(created, picks, strict=True)
            )
            made += sum(1 for o in created if o.status == Order.Status.PAID)
        # created_at is auto_now_add: spread it like paid_at, as real orders would be.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE storefront_order SET created_at = coalesce(paid_at, pay_deadline)"
                " - interval '5 minutes' WHERE number LIKE 'B%%'"
            )
            cursor.execute("ANALYZE storefront_order; ANALYZE storefront_orderline")
    return made


def counts_fill(shop, *, pages: int = 200, seed: int = 17) -> int:
    """90 days of DailyCount and DailyVisitors rows in SHOP; returns the DailyCount rows."""
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from cms.models import ArticlePage, HomePage
    from storefront.analytics.models import DailyCount, DailyVisitors
    from storefront.analytics.rollup import page_counts_remake

    rng = random.Random(seed)
    today = timezone.localdate()
    with tenant_context(shop):
        home = HomePage.objects.get()
        have = ArticlePage.objects.filter(slug__startswith="bench-").count()
        for n in range(have, pages):
            home.add_child(instance=ArticlePage(title=f"好物测评第 {n} 篇", slug=f"bench-{n}"))
        page_ids = list(
            ArticlePage.objects.filter(slug__startswith="bench-").values_list("pk", flat=True)
        )
        rows = []
        for ago in range(90):
            day = today - timedelta(days=ago)
            for page in page_ids:
                for source in ("", "share"):
                    views = rng.randint(20, 400)
                    for event, n in (
                        ("article_view", views),
                        ("card_impression", views * 2),
                        ("card_tap", views // 5),
                        ("order_paid", views // 40),
                    ):
                        rows.append(
                            DailyCount(day=day, event=event, page_id=page, source=source, count=n)
                        )
        DailyCount.objects.bulk_create(rows, batch_size=10_000, ignore_conflicts=True)
        page_counts_remake(first=today - timedelta(days=89), last=today)
        DailyVisitors.objects.bulk_create(
            [
                DailyVisitors(day=today - timedelta(days=ago), visitors=rng.randint(2_000, 9_000))
                for ago in range(90)
            ],
            ignore_conflicts=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE analytics_dailycount; ANALYZE analytics_dailypagecount")
    return len(rows)


def _ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, max(samples) * 1000


def sales_roll(shop) -> float:
    """Roll SHOP's paid orders up by day, as the minute task does (storefront/analytics/
    sales.py); returns the seconds it took (every one of the 88 days made at once)."""
    from django_tenants.utils import tenant_context

    from storefront.analytics.sales import sales_rollup

    with tenant_context(shop):
        started = time.perf_counter()
        sales_rollup(shop_id=shop.pk, check=True)
        return time.perf_counter() - started


def sales_forget(shop) -> None:
    """SHOP's rolled-up days gone: the dashboard then reads every day from the orders (the
    way it did before sales.py, and what a shop sees before its first rollup)."""
    from django_tenants.utils import tenant_context

    from storefront.analytics.models import ListingSalesDay, PageSalesDay, SalesDay

    with tenant_context(shop):
        for model in (SalesDay, PageSalesDay, ListingSalesDay):
            model.objects.all().delete()


def render_times(
    shop, *, repeat: int = 7, periods: tuple[str, ...] = PERIODS
) -> dict[str, tuple[float, float]]:
    """{"<period> owner"/"<period> service": (median ms, worst ms)} of the dashboard panel."""
    from django.core.cache import cache
    from django.template.loader import render_to_string
    from django.utils import translation
    from django_tenants.utils import tenant_context

    from storefront.analytics.dashboard_views import DashboardPanel, dashboard_context

    figures = {}
    with tenant_context(shop), translation.override("zh-hans"):
        for period in periods:
            for role, money in (("owner", True), ("service", False)):
                samples = []
                for n in range(repeat + 1):
                    cache.clear()  # uncached: nothing of a previous render helps
                    started = time.perf_counter()
                    context = dashboard_context(period_key=period, with_money=money)
                    render_to_string(DashboardPanel.template_name, context)
                    if n:  # the first run warms Python's imports and the template loader
                        samples.append(time.perf_counter() - started)
                figures[f"{period} {role}"] = _ms(samples)
    return figures


def home_request_times(shop, *, repeat: int = 5) -> tuple[float, float]:
    """The whole shop-admin home (/admin/?period=90, Wagtail's panels included), median/worst."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    with tenant_context(shop):
        user, _ = get_user_model().objects.get_or_create(
            username="bench-owner", defaults={"is_superuser": True, "is_staff": True}
        )
        host = shop.domains.get(is_primary=True).domain
        client = Client(HTTP_HOST=host)
        client.force_login(user)  # the shop's own user: its session is made in its schema
    connection.set_schema_to_public()
    samples = []
    for n in range(repeat + 1):
        cache.clear()
        started = time.perf_counter()
        response = client.get("/admin/?period=90", secure=True)  # production redirects http
        elapsed = time.perf_counter() - started
        connection.set_schema_to_public()
        assert response.status_code == 200, response.status_code
        assert b"shop-dashboard-section" in response.content
        if n:
            samples.append(elapsed)
    return _ms(samples)


def dashboard_render_figure(shop, *, orders: int = ORDERS) -> str:
    """One line for bench/analytics.py: the dashboard's render for SHOP with ORDERS orders."""
    orders_fill(shop, orders=orders)
    sales_forget(shop)
    unrolled = render_times(shop, repeat=3, periods=("90",))["90 owner"][0]
    roll_seconds = sales_roll(shop)
    times = render_times(shop, repeat=5)
    worst_median = max(median for median, _worst in times.values())
    met = "met" if worst_median <= TARGET_MS else "missed"
    return (
        f"dashboard render with {orders:,} orders, uncached: {times['90 owner'][0]:.0f} ms"
        f" (90 days, owner), slowest period {worst_median:.0f} ms (target ≤ {TARGET_MS} ms: {met});"
        f" {unrolled:.0f} ms for 90 days before the days were rolled up"
        f" ({unrolled / times['90 owner'][0]:.1f}×); rolling 88 days up took {roll_seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--keep", action="store_true", help="reuse the bench database of an earlier run"
    )
    args = parser.parse_args()

    sf = storefront_bench()
    if args.keep:
        url = urlsplit(os.environ["DATABASE_URL"])
        sf.bench_database_url = lambda: urlunsplit(url._replace(path=f"/{DB_NAME}"))
    var_dir = ROOT / "var" / "bench-dashboard"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = sf.environment(var_dir)
    redis = urlsplit(os.environ["REDIS_URL"])
    env.update(
        REDIS_URL=urlunsplit(redis._replace(path="/12")),
        VSTORE_CACHE_PREFIX="vstore-bench-dashboard",
        DJANGO_SECRET_KEY="bench-dashboard-not-secret",
    )
    os.environ.update(env)
    if args.keep:
        import django

        django.setup()
    else:
        sf.setup_data()

    from tenants.models import Tenant

    shop = Tenant.objects.get(schema_name__startswith="shop_bench")
    started = time.perf_counter()
    made = orders_fill(shop, orders=args.orders)
    rows = counts_fill(shop)
    print(
        f"made {made:,} paid orders and {rows:,} daily rows"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    # The baseline, in this run: every day read from the orders (no day rolled up yet).
    sales_forget(shop)
    unrolled = render_times(shop, repeat=args.repeat, periods=("30", "90"))
    roll_seconds = sales_roll(shop)
    times = render_times(shop, repeat=args.repeat)

    print(f"\n{os.cpu_count()} cores; load average: "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))  # fmt: skip
    print(f"dashboard panel, uncached, {args.orders:,} orders (median / worst of {args.repeat}):")
    for name, (median, worst) in times.items():
        print(f"  {name:<14} {median:6.0f} ms / {worst:6.0f} ms")
    print("before the days were rolled up (every day read from the orders):")
    for name, (median, worst) in unrolled.items():
        ratio = median / times[name][0]
        print(f"  {name:<14} {median:6.0f} ms / {worst:6.0f} ms   ({ratio:.1f}× the rolled-up)")
    print(f"rolling 88 days of {args.orders:,} orders up (sales.py, once): {roll_seconds:.1f} s")
    slowest = max(median for median, _worst in times.values())
    print(
        f"slowest period: {slowest:.0f} ms (target ≤ {TARGET_MS} ms:"
        f" {'met' if slowest <= TARGET_MS else 'missed'})",
        flush=True,
    )
    home = home_request_times(shop)
    print(f"whole admin home, 90 days: {home[0]:.0f} ms median, {home[1]:.0f} ms worst")
    print(f"at {datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
