"""Platform coupons (billing.coupons): offers, the budget under concurrency, shop scope, window,
status, and holds that are idempotent per order and given back exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.coupons.models import PlatformCoupon, PlatformCouponUse
from billing.coupons.services import (
    platform_coupon_confirm,
    platform_coupon_end,
    platform_coupon_hold,
    platform_coupon_offer,
    platform_coupon_pause,
    platform_coupon_release,
    platform_coupon_resume,
)
from billing.payouts.testing import creator_make
from tests.c3_helpers import platform_coupon_make

db = pytest.mark.django_db


def spent(coupon: PlatformCoupon) -> int:
    coupon.refresh_from_db()
    return coupon.spent_fen


@db
def test_a_code_offers_its_amount_typed_in_any_case():
    shop = creator_make()
    coupon = platform_coupon_make(code="NEW2026", amount_fen=500)

    offer = platform_coupon_offer(tenant_id=shop.pk, code="  new2026 ", goods_fen=3000)

    assert offer is not None
    assert (offer.coupon_id, offer.code, offer.amount_fen) == (coupon.pk, "NEW2026", 500)
    assert offer.name == "平台新人券"


@db
@pytest.mark.parametrize("code", ["", "NOPE9999", "NEW\x002026", "新人券券", "A" * 10_000])
def test_unknown_or_forged_codes_offer_nothing(code):
    shop = creator_make()
    platform_coupon_make(code="NEW2026")

    assert platform_coupon_offer(tenant_id=shop.pk, code=code, goods_fen=3000) is None


@db
def test_threshold_applies_from_its_minimum_only():
    shop = creator_make()
    platform_coupon_make(code="MAN30", kind="threshold", amount_fen=500, min_goods_fen=3000)

    assert platform_coupon_offer(tenant_id=shop.pk, code="MAN30", goods_fen=2999) is None
    offer = platform_coupon_offer(tenant_id=shop.pk, code="MAN30", goods_fen=3000)
    assert offer is not None and offer.amount_fen == 500


@db
def test_percentage_is_floored_to_the_fen_and_capped():
    shop = creator_make()
    platform_coupon_make(
        code="ZHE20", kind="percent", amount_fen=0, percent_off=20, max_off_fen=1000
    )

    assert platform_coupon_offer(tenant_id=shop.pk, code="ZHE20", goods_fen=1999).amount_fen == 399
    assert (
        platform_coupon_offer(tenant_id=shop.pk, code="ZHE20", goods_fen=100_000).amount_fen == 1000
    )


@db
def test_the_buyer_always_pays_at_least_one_fen_of_goods():
    shop = creator_make()
    platform_coupon_make(code="BIG500", amount_fen=500)

    assert platform_coupon_offer(tenant_id=shop.pk, code="BIG500", goods_fen=300).amount_fen == 299
    assert platform_coupon_offer(tenant_id=shop.pk, code="BIG500", goods_fen=1) is None


@db
def test_a_coupon_limited_to_shop_a_is_refused_in_shop_b():
    shop_a, shop_b = creator_make(), creator_make()
    coupon = platform_coupon_make(code="ONLYA1", all_shops=False, shop_ids=[shop_a.pk])

    assert platform_coupon_offer(tenant_id=shop_a.pk, code="ONLYA1", goods_fen=3000) is not None
    assert platform_coupon_offer(tenant_id=shop_b.pk, code="ONLYA1", goods_fen=3000) is None
    with pytest.raises(ValidationError):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop_b.pk, order_number="B0001", amount_fen=500
        )
    assert spent(coupon) == 0
    assert not PlatformCouponUse.objects.filter(tenant=shop_b).exists()


@db
def test_outside_its_window_a_coupon_offers_nothing_and_holds_nothing():
    shop = creator_make()
    now = timezone.now()
    early = platform_coupon_make(
        code="SOON01", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    late = platform_coupon_make(
        code="PAST01", starts_at=now - timedelta(days=2), ends_at=now - timedelta(seconds=1)
    )

    for coupon in (early, late):
        assert platform_coupon_offer(tenant_id=shop.pk, code=coupon.code, goods_fen=3000) is None
        with pytest.raises(ValidationError):
            platform_coupon_hold(
                coupon_id=coupon.pk, tenant_id=shop.pk, order_number="W1", amount_fen=500
            )
        assert spent(coupon) == 0


@db
def test_paused_coupon_stops_until_resumed_and_an_ended_one_for_good():
    shop = creator_make()
    coupon = platform_coupon_make(code="PAUSE1")

    platform_coupon_pause(coupon=coupon)
    assert platform_coupon_offer(tenant_id=shop.pk, code="PAUSE1", goods_fen=3000) is None
    with pytest.raises(ValidationError):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="P1", amount_fen=500
        )

    platform_coupon_resume(coupon=coupon)
    assert platform_coupon_offer(tenant_id=shop.pk, code="PAUSE1", goods_fen=3000) is not None

    platform_coupon_end(coupon=coupon)
    assert platform_coupon_offer(tenant_id=shop.pk, code="PAUSE1", goods_fen=3000) is None
    with pytest.raises(ValidationError):
        platform_coupon_resume(coupon=coupon)
    with pytest.raises(ValidationError):
        platform_coupon_end(coupon=coupon)
    assert coupon.status == PlatformCoupon.Status.ENDED


@db
def test_a_spent_budget_offers_nothing_and_refuses_holds():
    shop = creator_make()
    coupon = platform_coupon_make(code="BUDGET1", amount_fen=500, budget_fen=1200)

    platform_coupon_hold(coupon_id=coupon.pk, tenant_id=shop.pk, order_number="O1", amount_fen=500)
    platform_coupon_hold(coupon_id=coupon.pk, tenant_id=shop.pk, order_number="O2", amount_fen=500)

    # ¥2 left cannot pay a ¥5 discount: no offer, and a forged hold is refused.
    assert platform_coupon_offer(tenant_id=shop.pk, code="BUDGET1", goods_fen=3000) is None
    with pytest.raises(ValidationError) as refused:
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="O3", amount_fen=500
        )
    assert refused.value.code == "sold_out"
    assert spent(coupon) == 1000
    assert not PlatformCouponUse.objects.filter(order_number="O3").exists()


@db
def test_a_hold_is_idempotent_per_order():
    shop = creator_make()
    coupon = platform_coupon_make()

    for _ in range(3):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="R1", amount_fen=500
        )

    assert spent(coupon) == 500
    assert PlatformCouponUse.objects.filter(coupon=coupon).count() == 1


@db
def test_the_same_order_number_in_two_shops_is_two_uses():
    shop_a, shop_b = creator_make(), creator_make()
    coupon = platform_coupon_make()

    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=shop_a.pk, order_number="N1", amount_fen=500
    )
    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=shop_b.pk, order_number="N1", amount_fen=500
    )
    platform_coupon_release(tenant_id=shop_b.pk, order_number="N1")

    assert spent(coupon) == 500
    assert PlatformCouponUse.objects.get(tenant=shop_a).status == PlatformCouponUse.Status.HELD


@db
def test_release_gives_the_amount_back_exactly_once():
    shop = creator_make()
    coupon = platform_coupon_make()
    platform_coupon_hold(coupon_id=coupon.pk, tenant_id=shop.pk, order_number="X1", amount_fen=500)

    for _ in range(3):
        platform_coupon_release(tenant_id=shop.pk, order_number="X1")

    assert spent(coupon) == 0
    use = PlatformCouponUse.objects.get(coupon=coupon)
    assert use.status == PlatformCouponUse.Status.RELEASED
    # A released order stays released: neither confirming nor holding it again takes money.
    platform_coupon_confirm(tenant_id=shop.pk, order_number="X1")
    with pytest.raises(ValidationError):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="X1", amount_fen=500
        )
    use.refresh_from_db()
    assert use.status == PlatformCouponUse.Status.RELEASED
    assert spent(coupon) == 0


@db
def test_confirm_marks_used_and_a_full_refund_gives_the_budget_back():
    shop = creator_make()
    coupon = platform_coupon_make()
    platform_coupon_hold(coupon_id=coupon.pk, tenant_id=shop.pk, order_number="Y1", amount_fen=500)

    platform_coupon_confirm(tenant_id=shop.pk, order_number="Y1")
    platform_coupon_confirm(tenant_id=shop.pk, order_number="Y1")
    assert PlatformCouponUse.objects.get(coupon=coupon).status == PlatformCouponUse.Status.USED
    assert spent(coupon) == 500

    platform_coupon_release(tenant_id=shop.pk, order_number="Y1")
    assert PlatformCouponUse.objects.get(coupon=coupon).status == PlatformCouponUse.Status.RELEASED
    assert spent(coupon) == 0


@db
def test_a_hold_rolled_back_with_its_order_takes_nothing():
    shop = creator_make()
    coupon = platform_coupon_make()

    with pytest.raises(RuntimeError), transaction.atomic():
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="Z1", amount_fen=500
        )
        raise RuntimeError("the order failed after the hold")

    assert spent(coupon) == 0
    assert not PlatformCouponUse.objects.exists()


@db
@pytest.mark.parametrize("amount", [0, -1])
def test_a_hold_of_nothing_or_less_is_refused(amount):
    shop = creator_make()
    coupon = platform_coupon_make()

    with pytest.raises(ValidationError):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="Q1", amount_fen=amount
        )
    assert spent(coupon) == 0


@db
def test_the_database_refuses_spending_beyond_the_budget_even_without_the_service():
    coupon = platform_coupon_make(budget_fen=1000)

    with pytest.raises(IntegrityError), transaction.atomic():
        PlatformCoupon.objects.filter(pk=coupon.pk).update(spent_fen=F("budget_fen") + 1)


@db
@pytest.mark.parametrize(
    "fields",
    [
        {"code": "ab"},
        {"code": "BAD CODE"},
        {"code": "X" * 17},
        {"kind": "threshold", "amount_fen": 500, "min_goods_fen": 500},
        {"kind": "percent", "amount_fen": 0, "percent_off": 100},
        {"kind": "percent", "amount_fen": 0, "percent_off": None},
        {"kind": "fixed", "amount_fen": 0},
        {"kind": "gift"},
        {"budget_fen": 0},
        {"ends_at": timezone.now() - timedelta(days=30)},
        {"all_shops": False, "shop_ids": []},
    ],
)
def test_bad_terms_are_clear_errors(fields):
    with pytest.raises(ValidationError):
        platform_coupon_make(**fields)
    assert not PlatformCoupon.objects.exists()


@db
def test_a_code_is_taken_once():
    platform_coupon_make(code="SAME01")
    with pytest.raises(ValidationError):
        platform_coupon_make(code="same01")


# --- concurrency, on the real PostgreSQL: every racer has its own connection -------------------


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Committed rows (the racing threads cannot see a test's transaction); removed after."""
    with django_db_blocker.unblock():
        before = set(PlatformCoupon.objects.values_list("pk", flat=True))
        yield
        made = PlatformCoupon.objects.exclude(pk__in=before)
        tenants = set(
            PlatformCouponUse.objects.filter(coupon__in=made).values_list("tenant_id", flat=True)
        )
        PlatformCouponUse.objects.filter(coupon__in=made).delete()
        made.delete()
        from tenants.models import Tenant

        Tenant.objects.filter(pk__in=tenants, schema_name__startswith="payout_").delete()


def race(n: int, work: Callable[[int], None]) -> list[bool]:
    """Run work(i) in N threads started together: True where it returned, False where refused."""
    barrier = threading.Barrier(n)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            try:
                with transaction.atomic():
                    work(i)
                ok = True
            except ValidationError:
                ok = False
            with lock:
                results.append(ok)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_fifty_concurrent_holds_on_a_budget_for_ten_give_exactly_ten(committed):
    shop = creator_make()
    coupon = platform_coupon_make(amount_fen=500, budget_fen=5000)

    results = race(
        50,
        lambda i: platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number=f"C{i:04d}", amount_fen=500
        ),
    )

    assert results.count(True) == 10 and results.count(False) == 40
    assert spent(coupon) == 5000
    uses = PlatformCouponUse.objects.filter(coupon=coupon)
    assert uses.count() == 10 and sum(u.amount_fen for u in uses) == 5000


def test_concurrent_holds_of_uneven_amounts_never_overspend_by_one_fen(committed):
    shop = creator_make()
    coupon = platform_coupon_make(amount_fen=500, budget_fen=1001)

    results = race(
        40,
        lambda i: platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number=f"U{i:04d}", amount_fen=7 + i % 5
        ),
    )

    total = sum(u.amount_fen for u in PlatformCouponUse.objects.filter(coupon=coupon))
    assert spent(coupon) == total <= 1001
    assert results.count(True) == PlatformCouponUse.objects.filter(coupon=coupon).count()


def test_the_same_order_held_from_many_threads_spends_once(committed):
    shop = creator_make()
    coupon = platform_coupon_make(amount_fen=500, budget_fen=50_000)

    results = race(
        12,
        lambda i: platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=shop.pk, order_number="TWO-TABS", amount_fen=500
        ),
    )

    assert all(results)
    assert spent(coupon) == 500
    assert PlatformCouponUse.objects.filter(coupon=coupon).count() == 1


def test_concurrent_releases_give_the_amount_back_once(committed):
    shop = creator_make()
    coupon = platform_coupon_make(amount_fen=500, budget_fen=50_000)
    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=shop.pk, order_number="REL1", amount_fen=500
    )
    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=shop.pk, order_number="KEEP1", amount_fen=500
    )

    race(12, lambda i: platform_coupon_release(tenant_id=shop.pk, order_number="REL1"))

    assert spent(coupon) == 500


@db
def test_the_demo_coupon_is_made_once_and_works_in_any_shop():
    from billing.coupons.demo import DEMO_CODE, demo_seed

    demo_seed()
    demo_seed()

    coupon = PlatformCoupon.objects.get(code=DEMO_CODE)
    assert (coupon.name, coupon.amount_fen, coupon.min_goods_fen) == ("平台新人券", 500, 3000)
    assert coupon.budget_fen == 50_000 and coupon.all_shops
    shop = creator_make()
    assert platform_coupon_offer(tenant_id=shop.pk, code=DEMO_CODE, goods_fen=2999) is None
    assert (
        platform_coupon_offer(tenant_id=shop.pk, code=DEMO_CODE, goods_fen=3000).amount_fen == 500
    )
