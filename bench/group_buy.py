"""Closing a tiered group buy (团购拍) of many paid buyers, and joining at a tier boundary.

    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/group_buy.py \
        [--buyers 10000] [--threads 4] [--joiners 32] [--joins 8]

Works in its own database (vstore_bench_groupbuy, dropped and made anew) and Redis database 12,
so the demo data is untouched; one shop is made from the template (its migrations take minutes
on a busy machine: that part is not timed). Payments go to the sandbox provider, loopback only.

1. Close: --buyers paid members are written in bulk, as checkout and the sandbox's capture
   leave them (order, line, captured payment, the sandbox's paid trade, the capture entry, the
   member); half paid ¥100, the rest ¥80, and the group reaches the ¥70 tier. Then the close
   runs, timed, with --threads threads, 250 members a batch: every member's difference refund
   is issued through the sandbox provider (its refund API: a row lock and an update per
   refund, as a provider answers), the ledger adjusted to ¥70, then the supplier orders made.
   Printed: the whole close, the time until every refund is issued and posted (refunds per
   second), the supplier orders' time after it, and a second run that must issue 0 new
   refunds (and its time). Baseline in the same run: the same number of bare capture-sized
   ledger postings (entry_post, one per transaction) — the close's floor on this machine now.
2. Joins: --joiners threads join at once, --joins each, through the real claim and
   order_place, at the boundary of a tier; printed: joins per second and that the count of
   seats is exact.

Figures move 2× with the machine's load: compare the ratio to the baseline. Target (issue 14):
the close of 10,000 buyers in ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
DB_NAME = "vstore_bench_groupbuy"
MAX_BUYERS = 50_000  # a bound whatever --buyers says


def bench_database_url() -> str:
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(url._replace(path=f"/{DB_NAME}"))


def setup_django(media: str) -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["VSTORE_POOL_SIZE"] = "0"
    os.environ["VSTORE_PAYMENTS_SANDBOX"] = "1"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_MEDIA_ROOT"] = media
    os.environ["VSTORE_CACHE_PREFIX"] = "vstore-bench-groupbuy"
    redis = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(redis._replace(path="/12"))
    import django

    django.setup()


def shop_make():
    from django.core.management import call_command

    from tenants.provisioning import template_ensure
    from tenants.services import platform_ensure, shop_create

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    platform_ensure()
    template_ensure()
    return shop_create(name="Bench group buy", subdomain="bench-groupbuy")


def item_make(shop, stock: int):
    from django_tenants.utils import tenant_context

    from catalog.testing import first_sku, product_make, terms
    from storefront.models import ListingItem
    from storefront.services import listing_create

    product = product_make(skus=1, stock=stock, price_terms=terms())
    with tenant_context(shop):
        listing = listing_create(
            product=product,
            title="团购测试",
            copy="<p>bench</p>",
            prices={first_sku(product).pk: 10000},
        )
        return ListingItem.objects.select_related("sku__product").get(listing=listing)


def campaign_make(item, *, tiers, quantity: int):
    from django.utils import timezone

    from storefront.groupbuy.models import GroupBuy
    from storefront.groupbuy.services import Terms, groupbuy_create

    return groupbuy_create(
        kind=GroupBuy.Kind.TIERED,
        item=item,
        terms=Terms(
            title="bench",
            tiers=tiers,
            ends_at=timezone.now() + timedelta(hours=1),
            quantity=quantity,
            min_buyers=1,
        ),
    )


def members_fill(shop, campaign, item, n: int) -> None:
    """N paid members as checkout, the sandbox's capture and order_mark_paid leave them."""
    from django.utils import timezone

    from billing.adjustments import capture_targets
    from billing.ledger import EntrySpec, capture_key, entries_post_many
    from billing.models import Payment, SandboxTrade
    from storefront.groupbuy.models import GroupBuy, GroupMember
    from storefront.models import Fan, Order, OrderLine
    from storefront.orders.services import capture_lines

    now = timezone.now()
    chunk = 1000
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        fans = Fan.objects.bulk_create(
            [Fan(mobile=f"136{start + i:08d}", name="团员") for i in range(count)]
        )
        prices = [10000 if start + i < n // 2 else 8000 for i in range(count)]
        orders = Order.objects.bulk_create(
            [
                Order(
                    number=f"GB{uuid.uuid4().hex[:14].upper()}",
                    status=Order.Status.PAID,
                    fan=fan,
                    contact_mobile=fan.mobile,
                    recipient="团员",
                    recipient_phone=fan.mobile,
                    province="浙江",
                    city="杭州市",
                    district="西湖区",
                    street="文三路 100 号",
                    goods_fen=price,
                    shipping_fen=0,
                    total_fen=price,
                    pay_deadline=now + timedelta(minutes=30),
                    paid_at=now,
                )
                for fan, price in zip(fans, prices, strict=True)
            ]
        )
        lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    listing_id=item.listing_id,
                    item=item,
                    sku=item.sku,
                    supplier_id=item.sku.product.supplier_id,
                    title="团购测试",
                    quantity=1,
                    retail_price_fen=order.goods_fen,
                    supply_price_fen=item.sku.supply_price_fen,
                    campaign=f"group:{campaign.pk}",
                )
                for order in orders
            ]
        )
        payments = Payment.objects.bulk_create(
            [
                Payment(
                    tenant=shop,
                    order_number=order.number,
                    amount=order.total_fen,
                    provider="sandbox",
                    out_trade_no=f"VSB{uuid.uuid4().hex[:20].upper()}",
                    status=Payment.Status.CAPTURED,
                    provider_trade_id=f"SBX{uuid.uuid4().hex[:20].upper()}",
                    expires_at=now + timedelta(minutes=30),
                    captured_at=now,
                )
                for order in orders
            ]
        )
        SandboxTrade.objects.bulk_create(
            [
                SandboxTrade(
                    out_trade_no=p.out_trade_no,
                    trade_id=p.provider_trade_id,
                    amount=p.amount,
                    currency="CNY",
                    notify_url="http://localhost/pay/notify/sandbox/",
                    status=SandboxTrade.Status.PAID,
                    expires_at=p.expires_at,
                    paid_at=now,
                )
                for p in payments
            ]
        )
        entries_post_many(
            entries=[
                EntrySpec(
                    key=capture_key(p),
                    lines=sorted(capture_targets(payment=p, lines=capture_lines([line])).items()),
                    memo="capture (bench)",
                    tenant=shop,
                    order_number=p.order_number,
                    payment=p,
                )
                for p, line in zip(payments, lines, strict=True)
            ]
        )
        GroupMember.objects.bulk_create(
            [
                GroupMember(
                    campaign=campaign,
                    fan=order.fan,
                    order=order,
                    quantity=1,
                    unit_price_fen=order.goods_fen,
                    status=GroupMember.Status.PAID,
                )
                for order in orders
            ]
        )
    GroupBuy.objects.filter(pk=campaign.pk).update(
        paid_count=n, seats=n, units_left=campaign.quantity - n, joined_ever=True
    )


def baseline(n: int) -> float:
    """N capture-sized entries, one transaction each: what the close's postings alone cost."""
    from billing.ledger import AccountRef, entry_post

    started = time.perf_counter()
    for i in range(n):
        entry_post(
            key=f"bench-baseline:{uuid.uuid4().hex}:{i}",
            lines=[
                (AccountRef.clearing("sandbox"), -1000),
                (AccountRef.platform_revenue(), 1000),
            ],
        )
    return time.perf_counter() - started


def refunds_count(shop) -> int:
    from billing.models import Refund

    return Refund.objects.filter(payment__tenant=shop).count()


def close_bench(shop, args) -> None:
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from storefront.groupbuy import settle_many
    from storefront.groupbuy.models import GroupBuy, GroupMember
    from storefront.groupbuy.services import groupbuy_close

    n = min(args.buyers, MAX_BUYERS)
    item = item_make(shop, stock=n + 100)
    with tenant_context(shop):
        campaign = campaign_make(
            item, tiers=[[1, 10000], [max(2, n // 2), 8000], [n, 7000]], quantity=n + 50
        )
        print(f"writing {n:,} paid buyers…", flush=True)
        members_fill(shop, campaign, item, n)
        GroupBuy.objects.filter(pk=campaign.pk).update(ends_at=timezone.now())
    connection.set_schema_to_public()
    base_n = min(n, 2000)
    base = baseline(base_n)
    print(f"baseline: {base_n / base:,.0f} bare ledger entries/s (one per transaction)")

    before = refunds_count(shop)
    marks: list[float] = []
    fulfil = settle_many.members_fulfil_many

    def fulfil_timed(**kw):
        # The close makes the supplier orders only after every refund is issued and posted:
        # the first batch of them marks the end of the money part.
        marks.append(time.perf_counter())
        return fulfil(**kw)

    settle_many.members_fulfil_many = fulfil_timed
    with tenant_context(shop):
        started = time.perf_counter()
        done = groupbuy_close(campaign_id=campaign.pk, threads=args.threads)
        took = time.perf_counter() - started
    settle_many.members_fulfil_many = fulfil
    money = (min(marks) if marks else started + took) - started
    with tenant_context(shop):
        settled = GroupMember.objects.filter(campaign=campaign, status="settled").count()
    connection.set_schema_to_public()
    issued = refunds_count(shop) - before
    print(
        f"close of {n:,} buyers ({args.threads} threads): {took:.1f} s, {issued:,} refunds "
        f"({issued / took:,.0f} refunds/s), final {done.final_price_fen} fen, {settled:,} "
        f"settled, stock back: {done.stock_returned}"
    )
    print(
        f"  every refund issued and posted after {money:.1f} s "
        f"({issued / max(money, 1e-9):,.0f} refunds/s); the supplier orders took "
        f"{took - money:.1f} s more"
    )
    per_member = took / max(settled, 1)
    print(f"  per member {per_member * 1000:.1f} ms vs a bare entry {base / base_n * 1000:.1f} ms")
    with tenant_context(shop):
        started = time.perf_counter()
        groupbuy_close(campaign_id=campaign.pk, threads=args.threads)
        again = time.perf_counter() - started
    connection.set_schema_to_public()
    print(f"second run: {refunds_count(shop) - before - issued} new refunds, {again:.2f} s")


def joins_bench(shop, args) -> None:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from storefront.groupbuy.models import GroupBuy
    from storefront.groupbuy.services import claim_from_ticket, ticket_make
    from storefront.orders.services import Buyer, Want, order_place

    total = args.joiners * args.joins
    item = item_make(shop, stock=total + 100)
    with tenant_context(shop):
        campaign = campaign_make(item, tiers=[[1, 10000], [total // 2, 8000]], quantity=total + 10)
    connection.set_schema_to_public()
    start = threading.Barrier(args.joiners)
    errors: list[str] = []

    def joiner(k: int) -> None:
        try:
            with tenant_context(shop):
                start.wait(timeout=120)
                for j in range(args.joins):
                    mobile = f"135{k:04d}{j:04d}"
                    claim = claim_from_ticket(ticket=ticket_make(campaign=campaign), fan=None)
                    order_place(
                        wants=[Want(claim.item_id, 1)],
                        buyer=Buyer(mobile, "", "团员", mobile, "浙江", "杭州市", "西湖区", "x"),
                        campaign=claim,
                    )
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=joiner, args=(k,)) for k in range(args.joiners)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    with tenant_context(shop):
        seats = GroupBuy.objects.get(pk=campaign.pk).seats
    connection.set_schema_to_public()
    print(
        f"joins: {total} by {args.joiners} concurrent buyers in {took:.1f} s "
        f"({total / took:,.0f} joins/s); seats counted {seats} (exact: {seats == total}); "
        f"errors {len(errors)} {errors[:2]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--joiners", type=int, default=32)
    parser.add_argument("--joins", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as media:
        setup_django(media)
        print("setting up the bench database and shop (not timed)…", flush=True)
        shop = shop_make()
        # The sandbox's signing key is made on first use; make it before the close's threads
        # would race to write it (and its folder) at once.
        from django.conf import settings

        from billing.payments.sandbox import sandbox_private_key

        (Path(settings.VAR_DIR) / "payments").mkdir(parents=True, exist_ok=True)
        sandbox_private_key()
        print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}", flush=True)
        close_bench(shop, args)
        joins_bench(shop, args)


if __name__ == "__main__":
    main()
