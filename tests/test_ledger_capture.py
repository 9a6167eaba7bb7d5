"""The capture entry (exact to the fen) and the single-level commission rules."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from billing.ledger import (
    AccountRef,
    CaptureLine,
    LedgerError,
    capture_key,
    capture_post,
    commission_rule_set,
    fee_fen,
)
from billing.ledger_selectors import (
    balances_recompute_check,
    entries_for_order,
    owed_fen,
)
from billing.models import CommissionRule, JournalEntry, Payment
from billing.services import out_trade_no_new
from catalog.models import Supplier


def supplier_new(name: str) -> Supplier:
    tag = uuid.uuid4().hex[:12]
    user = get_user_model().objects.create_user(username=f"sup-{tag}", password=None)
    return Supplier.objects.create(
        user=user,
        company_name=name,
        credit_code=tag.upper().ljust(18, "0"),
        contact_name="张三",
        contact_phone="13800000000",
    )


def payment_captured(tenant, amount: int, provider: str = "sandbox") -> Payment:
    return Payment.objects.create(
        tenant=tenant,
        order_number=f"O{uuid.uuid4().hex[:10]}",
        amount=amount,
        provider=provider,
        out_trade_no=out_trade_no_new(),
        status=Payment.Status.CAPTURED,
        expires_at=timezone.now() + timedelta(minutes=30),
        captured_at=timezone.now(),
    )


def postings_by_account(entry: JournalEntry) -> dict[AccountRef, int]:
    return {AccountRef.of(p.account): p.amount for p in entry.postings.select_related("account")}


@pytest.mark.django_db
def test_a_two_supplier_order_posts_one_entry_exact_to_the_fen(shops):
    tea, bowls = supplier_new("茶叶"), supplier_new("碗")
    lines = [
        # 2 × tea: retail 99.90, supply 61.23, 8.00 shipping from the tea supplier
        CaptureLine(tea.pk, 2, supply_price_fen=6123, retail_price_fen=9990, shipping_fen=800),
        # 3 × bowls: retail 33.33, supply 20.01, free shipping
        CaptureLine(bowls.pk, 3, supply_price_fen=2001, retail_price_fen=3333),
    ]
    # goods 2×9990 + 3×3333 = 29979; shipping 800; paid 30779
    payment = payment_captured(shops.a, 30779)

    entry = capture_post(payment=payment, lines=lines, take_rate_bp=550)

    # fee: 5.5% of 29979 = 1648.845 → half up → 1649 fen
    # supply: 2×6123 + 3×2001 = 18249; margin 29979 − 18249 = 11730; commission 11730 − 1649
    assert postings_by_account(entry) == {
        AccountRef.clearing("sandbox"): 30779,
        AccountRef.supplier_payable(tea.pk): -(2 * 6123 + 800),
        AccountRef.supplier_payable(bowls.pk): -(3 * 2001),
        AccountRef.commission_pending(shops.a.pk): -10081,
        AccountRef.platform_revenue(): -1649,
    }
    assert sum(postings_by_account(entry).values()) == 0
    assert entry.idempotency_key == capture_key(payment)
    assert (entry.tenant_id, entry.order_number, entry.payment_id) == (
        shops.a.pk,
        payment.order_number,
        payment.pk,
    )
    assert owed_fen(ref=AccountRef.supplier_payable(tea.pk)) == 13046
    assert owed_fen(ref=AccountRef.supplier_payable(bowls.pk)) == 6003
    assert list(entries_for_order(tenant=shops.a, order_number=payment.order_number)) == [entry]
    assert balances_recompute_check() == []


def test_the_fee_rounds_half_up_to_the_fen():
    assert fee_fen(goods_fen=29979, take_rate_bp=550) == 1649  # 1648.845
    assert fee_fen(goods_fen=10, take_rate_bp=500) == 1  # 0.5 → 1 (banker's would give 0)
    assert fee_fen(goods_fen=30, take_rate_bp=500) == 2  # 1.5 → 2
    assert fee_fen(goods_fen=9, take_rate_bp=500) == 0  # 0.45 → 0
    assert fee_fen(goods_fen=12345, take_rate_bp=0) == 0


@pytest.mark.django_db
@override_settings(VSTORE_PLATFORM_TAKE_RATE_BP=1000)
def test_the_take_rate_comes_from_settings(shops):
    supplier = supplier_new("书")
    payment = payment_captured(shops.b, 5000)
    entry = capture_post(payment=payment, lines=[CaptureLine(supplier.pk, 1, 3000, 5000)])
    assert postings_by_account(entry)[AccountRef.platform_revenue()] == -500
    assert postings_by_account(entry)[AccountRef.commission_pending(shops.b.pk)] == -1500


@pytest.mark.django_db
def test_the_fee_never_exceeds_the_margin(shops):
    supplier = supplier_new("米")
    payment = payment_captured(shops.a, 1000)
    entry = capture_post(
        payment=payment, lines=[CaptureLine(supplier.pk, 1, 990, 1000)], take_rate_bp=2000
    )
    # 20% of 1000 = 200 > margin 10: the platform takes the 10, the creator nothing (not −190).
    assert postings_by_account(entry) == {
        AccountRef.clearing("sandbox"): 1000,
        AccountRef.supplier_payable(supplier.pk): -990,
        AccountRef.platform_revenue(): -10,
    }


@pytest.mark.django_db
def test_capturing_twice_posts_once_even_if_the_take_rate_changed_meanwhile(shops):
    supplier = supplier_new("油")
    payment = payment_captured(shops.a, 2000)
    lines = [CaptureLine(supplier.pk, 2, 600, 1000)]
    first = capture_post(payment=payment, lines=lines, take_rate_bp=500)
    again = capture_post(payment=payment, lines=lines, take_rate_bp=900)
    assert again.pk == first.pk
    assert JournalEntry.objects.filter(payment=payment).count() == 1


@pytest.mark.django_db
def test_a_capture_that_does_not_match_the_payment_is_refused(shops):
    supplier = supplier_new("盐")
    payment = payment_captured(shops.a, 2001)
    with pytest.raises(LedgerError, match="2001 fen but its lines total 2000"):
        capture_post(payment=payment, lines=[CaptureLine(supplier.pk, 2, 600, 1000)])
    payment.status = Payment.Status.CREATED
    with pytest.raises(LedgerError, match="not captured"):
        capture_post(payment=payment, lines=[CaptureLine(supplier.pk, 2, 600, 1000)])
    assert not JournalEntry.objects.filter(payment=payment).exists()


@pytest.mark.django_db
def test_a_payment_with_ledger_entries_cannot_be_deleted(shops):
    supplier = supplier_new("糖")
    payment = payment_captured(shops.a, 1000)
    capture_post(payment=payment, lines=[CaptureLine(supplier.pk, 1, 500, 1000)])
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()


# --- single level only --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_only_commission_rule_is_the_selling_shops_own_creator(shops):
    rule = commission_rule_set(tenant=shops.a)
    assert (rule.tenant_id, rule.beneficiary_id, rule.basis) == (
        shops.a.pk,
        shops.a.pk,
        CommissionRule.Basis.OWN_SHOP_SALES,
    )
    assert commission_rule_set(tenant=shops.a, beneficiary=shops.a).pk == rule.pk


@pytest.mark.django_db
def test_an_override_on_another_creators_sales_is_refused(shops):
    with pytest.raises(ValidationError, match=r"禁止传销条例 art\. 7") as refused:
        commission_rule_set(tenant=shops.b, beneficiary=shops.a)
    assert refused.value.code == "commission_override"
    for basis in ("downline_sales", "team_sales"):
        with pytest.raises(ValidationError, match=r"禁止传销条例 art\. 7") as refused:
            commission_rule_set(tenant=shops.b, basis=basis)
        assert refused.value.code == "commission_basis"
    assert not CommissionRule.objects.filter(tenant=shops.b).exists()


@pytest.mark.django_db
def test_a_recruitment_reward_is_refused(shops):
    with pytest.raises(ValidationError, match="recruiting") as refused:
        commission_rule_set(tenant=shops.a, recruitment_reward_fen=5000)
    assert refused.value.code == "commission_recruitment_reward"


@pytest.mark.django_db
def test_a_paid_membership_to_open_a_shop_is_refused(shops):
    with pytest.raises(ValidationError, match="paid membership") as refused:
        commission_rule_set(tenant=shops.a, membership_fee_fen=39900)
    assert refused.value.code == "commission_membership_fee"


@pytest.mark.django_db
def test_the_database_refuses_a_multi_level_rule_too(shops):
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionRule.objects.create(tenant=shops.b, beneficiary=shops.a)
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionRule.objects.create(tenant=shops.b, beneficiary=shops.b, basis="team_sales")


@pytest.mark.django_db
def test_a_rule_for_another_shop_fails_model_validation_too(shops):
    rule = CommissionRule(tenant=shops.b, beneficiary=shops.a)
    with pytest.raises(ValidationError, match=r"禁止传销条例 art\. 7"):
        rule.full_clean()
