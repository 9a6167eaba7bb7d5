"""A creator's coupons: the rules a coupon keeps, claims and their limits, isolation, the demo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.money import FEN_MAX
from storefront.coupons.demo import DEMO_FAN_MOBILE, demo_seed
from storefront.coupons.models import Coupon, CouponClaim
from storefront.coupons.selectors import (
    coupon_creator_cap_fen,
    coupons_claimable,
    fan_coupons,
)
from storefront.coupons.services import (
    coupon_by_code,
    coupon_claim,
    coupon_end,
    coupon_grant,
    coupon_pause,
    coupon_resume,
    coupon_update,
)

from .c1_helpers import code_new, coupon_make, fan_make
from .storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def refused(shop, **fields) -> str:
    with pytest.raises(ValidationError) as caught:
        coupon_make(shop, **fields)
    return " ".join(caught.value.messages)


def test_impossible_terms_are_refused_with_a_reason(shops):
    listed(shops.a, price=8800)
    now = timezone.now()
    assert "1 to 99" in refused(shops.a, kind=Coupon.Kind.PERCENT, percent_off=100)
    assert "1 to 99" in refused(shops.a, kind=Coupon.Kind.PERCENT, percent_off=0)
    assert str(FEN_MAX) in refused(shops.a, amount_fen=FEN_MAX + 1)
    assert "from 1" in refused(shops.a, amount_fen=0)
    assert "4 to 16" in refused(shops.a, code="AB")
    assert "4 to 16" in refused(shops.a, code="ABC\x00DEF")
    assert "4 to 16" in refused(shops.a, code="X" * 10_000)
    assert "after the start" in refused(shops.a, starts_at=now, ends_at=now - timedelta(days=1))
    assert "more than the amount off" in refused(
        shops.a, kind=Coupon.Kind.THRESHOLD, amount_fen=1000, min_goods_fen=1000
    )
    assert "Choose the goods" in refused(shops.a, scope=Coupon.Scope.LISTINGS)
    assert "1 to 99" in refused(shops.a, per_fan_limit=0)
    with tenant_context(shops.a):
        assert not Coupon.objects.exists()


def test_a_coupon_taking_more_than_her_commission_on_the_smallest_order_is_refused_with_the_limit(
    shops,
):
    # ¥88 retail, ¥50 supply, 5% fee: ¥33.60 commission on one unit.
    listing, _item = listed(shops.a, price=8800)
    with tenant_context(shops.a):
        assert coupon_creator_cap_fen(listing_ids=[listing.pk]) == 3360
    message = refused(shops.a, amount_fen=3361)
    assert "¥33.60" in message
    coupon_make(shops.a, amount_fen=3360)  # exactly her commission: allowed
    # With a minimum spend of ¥100 the smallest order is two units: ¥67.20 of commission.
    coupon_make(shops.a, kind=Coupon.Kind.THRESHOLD, amount_fen=6000, min_goods_fen=10000)
    assert "¥67.20" in refused(
        shops.a, kind=Coupon.Kind.THRESHOLD, amount_fen=6800, min_goods_fen=10000
    )


def test_the_database_refuses_a_claim_count_above_the_total(shops):
    coupon = coupon_make(shops.a, total_limit=1)
    with tenant_context(shops.a), pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.filter(pk=coupon.pk).update(claimed_count=2)


def test_a_fan_claims_up_to_her_limit_and_the_total_runs_out(shops):
    coupon = coupon_make(shops.a, total_limit=2, per_fan_limit=1)
    first, second, third = (
        fan_make(shops.a, m) for m in ("13700000001", "13700000002", "13700000003")
    )
    with tenant_context(shops.a):
        coupon_claim(coupon=coupon, fan=first, source="product")
        with pytest.raises(ValidationError, match="already claimed"):
            coupon_claim(coupon=coupon, fan=first, source="product")
        coupon_claim(coupon=coupon, fan=second, source="link")
        with pytest.raises(ValidationError, match="all these coupons have been claimed"):
            coupon_claim(coupon=coupon, fan=third, source="link")
        coupon.refresh_from_db()
        assert coupon.claimed_count == 2
        assert not coupons_claimable().filter(pk=coupon.pk).exists()
        assert [c.coupon_id for c in fan_coupons(fan=first)] == [coupon.pk]


def test_paused_ended_and_future_coupons_cannot_be_claimed(shops):
    fan = fan_make(shops.a)
    later = coupon_make(
        shops.a,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=2),
    )
    paused = coupon_make(shops.a)
    with tenant_context(shops.a):
        with pytest.raises(ValidationError, match="not valid yet"):
            coupon_claim(coupon=later, fan=fan, source="link")
        coupon_pause(coupon=paused)
        with pytest.raises(ValidationError, match="paused"):
            coupon_claim(coupon=paused, fan=fan, source="link")
        coupon_resume(coupon=paused)
        coupon_claim(coupon=paused, fan=fan, source="link")
        coupon_end(coupon=paused)
        with pytest.raises(ValidationError):
            coupon_resume(coupon=paused)
        with pytest.raises(ValidationError, match="ended"):
            coupon_claim(coupon=paused, fan=fan, source="link")


def test_a_share_reward_is_granted_once_per_order_and_never_claimed_by_the_public(shops):
    reward = coupon_make(shops.a, purpose=Coupon.Purpose.SHARE_REWARD)
    fan = fan_make(shops.a)
    with tenant_context(shops.a):
        with pytest.raises(ValidationError, match="reward for sharing"):
            coupon_claim(coupon=reward, fan=fan, source="link")
        one = coupon_grant(coupon=reward, fan=fan, reward_order_number="2612010000ABCDEF")
        again = coupon_grant(coupon=reward, fan=fan, reward_order_number="2612010000ABCDEF")
        assert one.pk == again.pk
        coupon_grant(coupon=reward, fan=fan, reward_order_number="2612010000GHJKLM")
        assert CouponClaim.objects.filter(coupon=reward, fan=fan).count() == 2


def test_once_claimed_terms_only_change_in_fans_favour(shops):
    coupon = coupon_make(shops.a, amount_fen=500)
    with tenant_context(shops.a):
        coupon_claim(coupon=coupon, fan=fan_make(shops.a), source="link")
        with pytest.raises(ValidationError, match="better for them"):
            coupon_update(coupon=coupon, amount_fen=300)
        coupon_update(coupon=coupon, amount_fen=800, ends_at=coupon.ends_at + timedelta(days=3))
        coupon.refresh_from_db()
        assert coupon.amount_fen == 800


def test_a_code_of_shop_a_is_unknown_in_shop_b(shops):
    coupon = coupon_make(shops.a, code="SHOPAONLY")
    with tenant_context(shops.a):
        assert coupon_by_code(code=" shopaonly ") == coupon
    with tenant_context(shops.b):
        assert coupon_by_code(code="SHOPAONLY") is None
        assert coupon_by_code(code="\x00" * 5) is None
        assert coupon_by_code(code="9" * 10_000) is None


def test_the_demo_seeds_a_shop_wide_coupon_a_listing_coupon_and_a_fan_who_claimed_one(shops):
    listed(shops.a, price=8800)
    demo_seed(shop=shops.a)
    demo_seed(shop=shops.a)  # idempotent
    with tenant_context(shops.a):
        assert Coupon.objects.filter(kind=Coupon.Kind.THRESHOLD, min_goods_fen=9900).count() == 1
        assert Coupon.objects.filter(scope=Coupon.Scope.LISTINGS).count() == 1
        claims = CouponClaim.objects.filter(fan__mobile=DEMO_FAN_MOBILE)
        assert claims.count() == 1 and claims.get().state == CouponClaim.State.AVAILABLE


def test_codes_are_made_of_upper_case_letters_and_digits():
    assert code_new().isalnum() and code_new().isupper()
