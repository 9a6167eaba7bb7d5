"""Coupon limits under concurrency, on the real PostgreSQL: threads with their own connections
check out at the same moment (committed data, as in production)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from catalog.models import SKU
from storefront.coupons.checkout import CouponAsk
from storefront.coupons.models import Coupon, CouponClaim, CouponRedemption
from storefront.coupons.services import coupon_claim
from storefront.models import Order
from storefront.orders.services import Want, order_place

from .c1_helpers import buyer, code_new, coupon_make, fan_make
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")


def run_together(shop, jobs) -> list[str]:
    """Run each job (a callable) in its own thread and connection, all released at once;
    returns "ok" or the refusal's message per job."""
    start = threading.Barrier(len(jobs))
    results: list[str] = []
    lock = threading.Lock()

    def run(job) -> None:
        try:
            with tenant_context(shop):
                start.wait(timeout=60)
                try:
                    job()
                    outcome = "ok"
                except ValidationError as exc:
                    outcome = " ".join(exc.messages)
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_checkouts_on_a_coupon_of_ten_give_exactly_ten_redemptions(shops, committed_db):
    _listing, item = listed(shops.a, price=8800, stock=200)
    code = code_new()  # committed rows stay: a fixed code would be taken on the next run
    coupon = coupon_make(shops.a, code=code, amount_fen=500, total_limit=10)
    stock_before = SKU.objects.get(pk=item.sku_id).stock

    def checkout(n: int):
        return lambda: order_place(
            wants=[Want(item.pk, 1)],
            buyer=buyer(f"1370001{n:04d}"),
            coupon=CouponAsk(code=code),
        )

    results = run_together(shops.a, [checkout(n) for n in range(50)])

    counts = Counter("ok" if r == "ok" else "refused" for r in results)
    assert counts == {"ok": 10, "refused": 40}, Counter(results)
    assert all("claimed" in r for r in results if r != "ok")
    with tenant_context(shops.a):
        coupon.refresh_from_db()
        assert (coupon.claimed_count, coupon.redeemed_count) == (10, 10)
        assert CouponRedemption.objects.filter(coupon=coupon, status="held").count() == 10
        orders = Order.objects.filter(lines__item=item)
        assert orders.count() == 10
        assert {o.goods_fen for o in orders} == {8300}
    # The 40 refused checkouts held no stock.
    assert SKU.objects.get(pk=item.sku_id).stock == stock_before - 10


def test_one_coupon_in_two_tabs_is_used_by_one_order(shops, committed_db):
    _listing, item = listed(shops.a, price=8800, stock=50)
    fan = fan_make(shops.a, "13700020000")
    coupon = coupon_make(shops.a, amount_fen=500, per_fan_limit=1)
    with tenant_context(shops.a):
        claim = coupon_claim(coupon=coupon, fan=fan, source="product")

    def tab():
        return order_place(
            wants=[Want(item.pk, 1)],
            buyer=buyer("13700020000"),
            fan=fan,
            coupon=CouponAsk(choice=str(claim.pk)),
        )

    results = run_together(shops.a, [tab, tab])

    assert results.count("ok") == 1, results
    assert "cannot be used for this order" in next(r for r in results if r != "ok")
    with tenant_context(shops.a):
        assert CouponRedemption.objects.filter(coupon=coupon).count() == 1
        assert CouponClaim.objects.get(pk=claim.pk).state == "held"
        assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 1


def test_a_per_fan_limit_holds_when_two_tabs_type_the_code_at_once(shops, committed_db):
    _listing, item = listed(shops.a, price=8800, stock=50)
    code = code_new()
    coupon = coupon_make(shops.a, code=code, amount_fen=500, per_fan_limit=1)

    def tab():
        return order_place(
            wants=[Want(item.pk, 1)], buyer=buyer("13700030000"), coupon=CouponAsk(code=code)
        )

    results = run_together(shops.a, [tab, tab])

    assert results.count("ok") == 1, results
    with tenant_context(shops.a):
        assert CouponClaim.objects.filter(coupon=coupon).count() == 1
        assert CouponRedemption.objects.filter(coupon=coupon).count() == 1
