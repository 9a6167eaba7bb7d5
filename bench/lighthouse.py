"""Lighthouse scores of a shop's buyer pages on a phone: the shop home, an article with product
cards, a product page, checkout and an order page (issue 19: performance ≥ 90, accessibility,
best practices and SEO ≥ 95; checkout and the order page are noindex, so their SEO is lower by
design).

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/lighthouse.py [--runs N]
        [--pages home,article,product,checkout,order]

Self-contained, in the style of bench/storefront.py: its own database (vstore_bench_lighthouse,
dropped and made anew) on the server DATABASE_URL names and Redis database 13, so the demo data
is untouched; a shop like the demo's (banner, avatar, intro, six goods with 800 px photos, an
article with cards and a picture, a paid and shipped order); the production server (gunicorn
with deploy/gunicorn.conf.py, DEBUG off, static files collected and served by WhiteNoise) plus
the shop's photos served as S3 or nginx would (bench/lighthouse_site/). Checkout and the order
page are opened with a session cookie that holds a "buy now" and the order.

Lighthouse is the npm package pinned in bench/lighthouse/package.json (12.2.3: Lighthouse 13
needs Node 22, Debian 12 has Node 20), installed with `npm ci` there on first use;
bench/lighthouse/run.mjs runs it in Debian's Chromium (/usr/bin/chromium, or CHROME_PATH)
headless with Lighthouse's default mobile emulation (Moto G Power, slow 4G and 4× CPU,
simulated), the session cookie in the browser's jar. Each page runs --runs times and the
median is printed, then the ids of the audits that cost each page points (weighted in a category,
scored under 0.9 in any run); the JSON reports stay in var/bench-lighthouse/. Performance moves
with the machine's load: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "bench")]
LIGHTHOUSE_DIR = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
RUNNER = LIGHTHOUSE_DIR / "run.mjs"
DB_NAME = "vstore_bench_lighthouse"
HOST = "lh.localhost"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 90, "accessibility": 95, "best-practices": 95, "seo": 95}
NOINDEX = {"checkout", "order"}


def lighthouse_ensure() -> Path:
    """bench/lighthouse/node_modules from its lock file (npm ci), once."""
    if not (LIGHTHOUSE.exists() and (LIGHTHOUSE_DIR / "node_modules" / "puppeteer-core").exists()):
        if not shutil.which("npm"):
            raise SystemExit("npm is missing: run `make sysdeps` (Debian: nodejs and npm)")
        print("installing Lighthouse 12.2.3 (npm ci in bench/lighthouse)…", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LIGHTHOUSE_DIR, check=True)
    return LIGHTHOUSE


def bench_database_url() -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(url._replace(path=f"/{DB_NAME}"))


def environment(var_dir: Path) -> dict[str, str]:
    redis = urlsplit(os.environ["REDIS_URL"])
    env = dict(
        os.environ,
        DATABASE_URL=bench_database_url(),
        REDIS_URL=urlunsplit(redis._replace(path="/13")),
        DJANGO_SETTINGS_MODULE="lighthouse_site.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-lighthouse-not-secret",
        VSTORE_HTTPS="0",
        VSTORE_CACHE_PREFIX="vstore-bench-lighthouse",
        VSTORE_POOL_SIZE="0",
        VSTORE_VAR_DIR=str(var_dir),
        DJANGO_MEDIA_ROOT=str(var_dir / "media"),
        DJANGO_STATIC_ROOT=str(var_dir / "static"),
        VSTORE_ANALYTICS_BEACON="1",
        LOG_LEVEL="WARNING",
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), env.get("PYTHONPATH", "")])
    return env


def png(size: int, colour: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, size // 2, size // 16):  # some detail, as a photo has: rings to the centre
        draw.ellipse((i, i, size - i, size - i), outline=(255, 255, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def setup_data() -> dict[str, str]:
    """A demo-like shop; returns the pages' paths and the session cookie for checkout/order."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.base import ContentFile
    from django.core.files.images import ImageFile
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context
    from wagtail.images import get_image_model

    from billing.fulfilment import services as fulfilment
    from billing.fulfilment.models import SupplierOrder
    from billing.fulfilment.testing import payment_captured_sandbox
    from catalog.models import ProductImage
    from catalog.testing import product_make
    from cms.models import ArticlePage, HomePage, ShopIndexPage, ShopSettings
    from storefront.orders.services import Buyer, Want, order_mark_paid, order_place
    from storefront.services import listing_create
    from tenants.provisioning import template_ensure
    from tenants.services import platform_ensure, shop_create

    print("setting up the bench database (migrations, template, one shop)…", flush=True)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    platform_ensure()
    template_ensure()
    shop = shop_create(name="育儿好物", subdomain="lh")
    titles = [
        "婴儿连体衣 · 纯棉",
        "辅食碗 防摔吸盘",
        "宝宝口水巾 六条装",
        "儿童保温杯",
        "绘本 · 晚安月亮",
        "婴儿润肤乳",
    ]
    products = [product_make(skus=2, stock=80, title=t) for t in titles]
    for n, product in enumerate(products):
        for image in ProductImage.objects.filter(product=product):
            image.file.save(f"photo-{n}.jpg", ContentFile(png(800, (200, 60 + 25 * n, 90))))
            ProductImage.objects.filter(pk=image.pk).update(width=800, height=800, alt=titles[n])
    Image = get_image_model()
    with tenant_context(shop):
        listings = [
            listing_create(
                product=p,
                title=p.title,
                copy="<p>我家老大老二都在用，洗了几十次也不变形，真心推荐给新手妈妈。</p>",
                prices={sku.pk: 8800 + 1000 * i for i, sku in enumerate(p.skus.order_by("pk"))},
            )
            for p in products
        ]
        banner = Image(
            title="banner", file=ImageFile(ContentFile(png(1200, (230, 120, 150)), "banner.jpg"))
        )
        banner.save()
        logo = Image(title="logo", file=ImageFile(ContentFile(png(256, (120, 40, 80)), "logo.jpg")))
        logo.save()
        cover = Image(
            title="cover", file=ImageFile(ContentFile(png(800, (90, 130, 200)), "cover.jpg"))
        )
        cover.save()
        home = HomePage.objects.get()
        settings_row = ShopSettings.for_site(home.get_site())
        settings_row.banner, settings_row.logo = banner, logo
        settings_row.tagline = "三个孩子的妈妈，只推荐自家用过的"
        settings_row.save()
        home.intro = "<p>你好，我是小雨，三个孩子的妈妈。这里是我家用过、觉得值得的东西。</p>"
        home.save_revision().publish()
        body = [{"type": "image", "value": cover.pk}]
        for n, listing in enumerate(listings, 1):
            body.append(
                {
                    "type": "paragraph",
                    "value": f"<p>第 {n} 件：用了半年，孩子喜欢，清洗方便。</p>",
                }
            )
            body.append(
                {"type": "product_card", "value": {"listing": listing.pk, "note": "真心推荐"}}
            )
        article = home.add_child(
            instance=ArticlePage(
                title="新手妈妈的六件好物",
                slug="six-goods",
                summary="用了半年的真心推荐",
                body=body,
            )
        )
        article_path = article.url
        shop_page = ShopIndexPage.objects.get()
        product_path = shop_page.url + shop_page.product_path(listings[0].pk).lstrip("/")
        item = listings[1].items.order_by("pk").first()
        buyer = Buyer(
            mobile="13800138000",
            email="",
            recipient="王小明",
            recipient_phone="13800138000",
            province="浙江",
            city="杭州市",
            district="西湖区",
            street="文三路 100 号 1 幢 101 室",
        )
        order = order_place(wants=[Want(item_id=item.pk, quantity=1)], buyer=buyer)
        payment = payment_captured_sandbox(
            tenant=shop, amount=order.total_fen, order_number=order.number
        )
        order_mark_paid(order_number=order.number, payment_id=payment.pk)
        session = SessionStore()
        session["storefront_orders"] = [order.number]
        session["storefront_fan"] = order.fan_id
        session["storefront_buy_now"] = {
            "item": listings[0].items.order_by("pk").first().pk,
            "quantity": 1,
        }
        session.create()
        session.save()
        cookie = session.session_key
    connection.set_schema_to_public()
    so = SupplierOrder.objects.get(tenant=shop, order_number=order.number)
    fulfilment.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="顺丰速运", tracking_number="SF1234567890"
    )
    return {
        "home": "/",
        "article": article_path,
        "product": product_path,
        "checkout": "/checkout/?now=1",
        "order": f"/orders/{order.number}/",
        "cookie": cookie,
    }


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "config.wsgi",
        ],
        env=dict(env, GUNICORN_BIND=f"127.0.0.1:{port}"),
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:  # *.localhost is loopback to Chromium, not to the system resolver: ask 127.0.0.1
            split = urlsplit(url)
            request = urllib.request.Request(
                urlunsplit(split._replace(netloc=f"127.0.0.1:{split.port}")),
                headers={"Host": split.netloc},
            )
            with urllib.request.urlopen(request, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)  # polling a starting server
    raise RuntimeError(f"the server did not answer {url} in {timeout} s")


def lighthouse(url: str, *, cookie: str, chrome: str, out: Path) -> dict[str, int]:
    cmd = ["node", str(RUNNER), url, str(out), ",".join(CATEGORIES), chrome]
    if cookie:  # in the browser's cookie jar (run.mjs): the page's own requests carry it too
        cmd.append(cookie)
    subprocess.run(cmd, check=True, cwd=LIGHTHOUSE_DIR, timeout=300)
    report = json.loads(out.read_text())
    return {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}


def failing_audits(report_path: Path) -> list[str]:
    """The audits that cost a page points: weighted in a category and scored under 0.9."""
    report = json.loads(report_path.read_text())
    failing = []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            score = report["audits"][ref["id"]]["score"]
            if ref["weight"] > 0 and score is not None and score < 0.9 and ref["id"] not in failing:
                failing.append(ref["id"])
    return failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page (the median is shown)")
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    parser.add_argument(
        "--pages",
        default="home,article,product,checkout,order",
        help="comma-separated pages to run (default: all five)",
    )
    args = parser.parse_args()
    lighthouse_ensure()
    var_dir = ROOT / "var" / "bench-lighthouse"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = environment(var_dir)
    os.environ.update(env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    paths = setup_data()
    cookie = paths.pop("cookie")
    proc = serve(env, port, var_dir / "gunicorn.log")
    results: dict[str, dict[str, int]] = {}
    failing: dict[str, set[str]] = {}
    try:
        base = f"http://{HOST}:{port}"
        wait_ready(base + "/", proc)
        for name, path in paths.items():
            if name not in args.pages.split(","):
                continue
            runs = [
                lighthouse(
                    base + path,
                    cookie=cookie if name in NOINDEX else "",
                    chrome=args.chrome,
                    out=var_dir / f"{name}-{i}.json",
                )
                for i in range(args.runs)
            ]
            results[name] = {c: int(statistics.median(r[c] for r in runs)) for c in CATEGORIES}
            failing[name] = {
                audit
                for i in range(args.runs)
                for audit in failing_audits(var_dir / f"{name}-{i}.json")
            }
            print(
                f"{name:9s} " + "  ".join(f"{c} {results[name][c]:3d}" for c in CATEGORIES),
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    print(
        f"\nLighthouse 12.2.3, mobile emulation, {args.runs} run(s) a page, median; load average: "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + f"; reports in {var_dir.relative_to(ROOT)}/"
    )
    print(f"{'page':9s} " + " ".join(f"{c[:13]:>14s}" for c in CATEGORIES) + "  targets")
    for name, scores in results.items():
        missed = [
            c for c in CATEGORIES if scores[c] < TARGETS[c] and not (c == "seo" and name in NOINDEX)
        ]
        print(
            f"{name:9s} "
            + " ".join(f"{scores[c]:14d}" for c in CATEGORIES)
            + ("  met" if not missed else "  missed: " + ", ".join(missed))
            + ("  (noindex: SEO not counted)" if name in NOINDEX else "")
        )
    print("\nfailing audits (weighted, scored under 0.9 in any run):")
    for name, audits in failing.items():
        print(f"{name:9s} " + (", ".join(sorted(audits)) or "none"))


if __name__ == "__main__":
    main()
