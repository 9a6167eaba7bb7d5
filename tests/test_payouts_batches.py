"""Payout batches: who is collected, how staff approve, how each payout is paid once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from billing.ledger import AccountRef
from billing.ledger_selectors import account_balance_for, balances_recompute_check, entry_by_key
from billing.payouts import services
from billing.payouts.models import Payout, PayoutBatch, PayoutEvent, SandboxTransfer
from billing.payouts.providers.sandbox import SandboxPayoutProvider
from billing.payouts.testing import (
    commission_claw_back,
    commission_settle,
    creator_make,
    supplier_settle,
)
from catalog.testing import staff_make, supplier_make, user_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

CREATOR = "creator"


def available(tenant) -> int:
    return -account_balance_for(ref=AccountRef.commission_available(tenant.pk))


def approved_batch(*tenants, staff=None) -> PayoutBatch:
    staff = staff or staff_make()
    batch = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=staff, only=[t.pk for t in tenants]
    )
    services.payout_batch_approve(batch=batch, user=staff, confirmed=True)
    return batch


def pay_all(batch: PayoutBatch) -> list[Payout]:
    return [services.payout_execute(payout_id=p.pk) for p in batch.payouts.order_by("pk")]


def test_batch_collects_only_balances_at_or_above_the_minimum():
    rich, exact, poor, nothing = (creator_make() for _ in range(4))
    commission_settle(tenant_id=rich.pk, fen=25_000)
    commission_settle(tenant_id=exact.pk, fen=6_000)
    commission_settle(tenant_id=exact.pk, fen=4_000)
    commission_settle(tenant_id=poor.pk, fen=9_999)

    batch = services.payout_batch_create(kind=CREATOR, minimum_fen=10_000, created_by=staff_make())

    mine = {p.tenant_id: p.amount_fen for p in batch.payouts.all()}
    assert mine[rich.pk] == 25_000
    assert mine[exact.pk] == 10_000
    assert poor.pk not in mine and nothing.pk not in mine
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert batch.total_fen == sum(mine.values())
    assert batch.payout_count == len(mine)
    assert set(batch.payouts.values_list("status", flat=True)) == {"awaiting_approval"}
    assert batch.events.get().action == PayoutEvent.Action.CREATED


def test_the_minimum_defaults_to_the_setting():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=5_000)

    with override_settings(VSTORE_PAYOUT_MINIMUM_FEN=6_000), pytest.raises(ValidationError):
        services.payout_batch_create(kind=CREATOR, created_by=staff_make(), only=[tenant.pk])
    with override_settings(VSTORE_PAYOUT_MINIMUM_FEN=5_000):
        batch = services.payout_batch_create(
            kind=CREATOR, created_by=staff_make(), only=[tenant.pk]
        )
    assert batch.minimum_fen == 5_000
    assert batch.payouts.get().amount_fen == 5_000


def test_a_creator_in_an_unfinished_batch_is_not_collected_again():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=20_000)
    first = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=staff_make(), only=[tenant.pk]
    )

    with pytest.raises(ValidationError) as refused:
        services.payout_batch_create(
            kind=CREATOR, minimum_fen=10_000, created_by=staff_make(), only=[tenant.pk]
        )
    assert refused.value.code == "payout_nothing_due"

    services.payout_batch_cancel(batch=first, user=staff_make())
    again = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=staff_make(), only=[tenant.pk]
    )
    assert again.payouts.get().amount_fen == 20_000


@override_settings(VSTORE_PAYOUT_DUAL_APPROVAL_FEN=50_000)
def test_dual_approval_is_refused_with_one_approver_and_accepted_with_two_distinct():
    tenants = [creator_make() for _ in range(3)]
    for t in tenants:
        commission_settle(tenant_id=t.pk, fen=20_000)
    maker, first, second = staff_make(), staff_make(), staff_make()
    batch = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=maker, only=[t.pk for t in tenants]
    )
    assert batch.total_fen == 60_000
    assert batch.approvals_required == 2

    one = services.payout_batch_approve(batch=batch, user=first, confirmed=True)
    assert (one.approvals, one.executing) == (1, False)

    with pytest.raises(ValidationError) as refused:
        services.payout_batch_approve(batch=batch, user=first, confirmed=True)
    assert refused.value.code == "payout_same_approver"
    assert "second, different staff member" in refused.value.messages[0]
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert set(batch.payouts.values_list("status", flat=True)) == {"awaiting_approval"}
    assert batch.events.filter(action=PayoutEvent.Action.APPROVAL_REFUSED, actor=first).exists()

    two = services.payout_batch_approve(batch=batch, user=second, confirmed=True)
    assert (two.approvals, two.executing) == (2, True)
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTING
    assert set(batch.payouts.values_list("status", flat=True)) == {"queued"}
    assert list(batch.approvals.values_list("user_id", flat=True)) == [first.pk, second.pk]


@override_settings(VSTORE_PAYOUT_DUAL_APPROVAL_FEN=50_000)
def test_a_batch_at_or_below_the_dual_amount_needs_one_approval_its_maker_may_give():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=50_000)
    maker = staff_make()
    batch = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=maker, only=[tenant.pk]
    )
    assert batch.approvals_required == 1

    assert services.payout_batch_approve(batch=batch, user=maker, confirmed=True).executing


def test_approval_needs_confirmation_staff_and_a_waiting_batch():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=10_000)
    staff = staff_make()
    batch = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=staff, only=[tenant.pk]
    )
    codes = []
    for user, confirmed in ((staff, False), (user_make(), True)):
        with pytest.raises(ValidationError) as refused:
            services.payout_batch_approve(batch=batch, user=user, confirmed=confirmed)
        codes.append(refused.value.code)
    services.payout_batch_cancel(batch=batch, user=staff)
    with pytest.raises(ValidationError) as refused:
        services.payout_batch_approve(batch=batch, user=staff, confirmed=True)

    assert [*codes, refused.value.code] == [
        "payout_not_confirmed",
        "payout_not_staff",
        "payout_not_awaiting",
    ]
    assert not batch.approvals.exists()


def test_a_payout_executed_twice_pays_once_and_posts_once():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=12_345)
    batch = approved_batch(tenant)
    payout = batch.payouts.get()
    clearing_before = account_balance_for(ref=AccountRef.clearing("sandbox"))

    first = services.payout_execute(payout_id=payout.pk)
    second = services.payout_execute(payout_id=payout.pk)

    assert first.status == second.status == Payout.Status.PAID
    assert SandboxTransfer.objects.filter(payout_no=payout.payout_no).count() == 1
    transfer = SandboxTransfer.objects.get(payout_no=payout.payout_no)
    assert (transfer.amount_fen, transfer.beneficiary) == (12_345, f"creator:{tenant.pk}")
    assert second.provider_ref == transfer.transfer_id
    entry = entry_by_key(key=f"payout:{payout.pk}")
    assert entry is not None and second.journal_entry_id == entry.pk
    assert sorted(entry.postings.values_list("amount", flat=True)) == [-12_345, 12_345]
    assert available(tenant) == 0
    assert account_balance_for(ref=AccountRef.clearing("sandbox")) == clearing_before - 12_345
    assert balances_recompute_check() == []
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.DONE
    actions = set(batch.events.values_list("action", flat=True))
    assert {"created", "approved", "execution_started", "sending", "paid", "finished"} <= actions


def test_a_payout_left_sending_after_the_provider_paid_is_completed_by_query_not_paid_again():
    # The in-process picture of the killed worker (tests/test_payouts_worker.py does it for real).
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=30_000)
    payout = approved_batch(tenant).payouts.get()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.SENDING)
    SandboxPayoutProvider().transfer(
        payout_no=payout.payout_no,
        amount_fen=30_000,
        currency="CNY",
        beneficiary=services._beneficiary(payout),
    )

    paid = services.payout_execute(payout_id=payout.pk)

    assert paid.status == Payout.Status.PAID
    assert SandboxTransfer.objects.filter(payout_no=payout.payout_no).count() == 1
    assert available(tenant) == 0


def test_a_payout_left_sending_before_the_provider_call_is_transferred_on_resume():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=30_000)
    payout = approved_batch(tenant).payouts.get()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.SENDING)

    paid = services.payout_execute(payout_id=payout.pk)

    assert paid.status == Payout.Status.PAID
    assert SandboxTransfer.objects.filter(payout_no=payout.payout_no).count() == 1


def test_a_clawback_after_payout_is_netted_by_the_next_payout():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=15_000)
    pay_all(approved_batch(tenant))
    commission_claw_back(tenant_id=tenant.pk, fen=3_000)  # a return after the payout
    assert available(tenant) == -3_000

    def due() -> list[int]:
        try:
            batch = services.payout_batch_create(
                kind=CREATOR, minimum_fen=10_000, created_by=staff_make(), only=[tenant.pk]
            )
        except ValidationError:
            return []
        return [p.amount_fen for p in batch.payouts.all()]

    assert due() == []  # negative: nothing to pay
    commission_settle(tenant_id=tenant.pk, fen=12_000)
    assert available(tenant) == 9_000
    assert due() == []  # net 90.00 is under the minimum
    commission_settle(tenant_id=tenant.pk, fen=4_000)
    batch = services.payout_batch_create(
        kind=CREATOR, minimum_fen=10_000, created_by=staff_make(), only=[tenant.pk]
    )
    assert batch.payouts.get().amount_fen == 13_000  # 120 + 40 − 30 clawed back
    services.payout_batch_approve(batch=batch, user=staff_make(), confirmed=True)
    pay_all(batch)

    assert available(tenant) == 0
    paid = Payout.objects.filter(tenant=tenant, status=Payout.Status.PAID)
    assert sum(paid.values_list("amount_fen", flat=True)) == 15_000 - 3_000 + 12_000 + 4_000


def test_a_clawback_between_approval_and_execution_skips_the_payout():
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=15_000)
    batch = approved_batch(tenant)
    commission_claw_back(tenant_id=tenant.pk, fen=6_000)

    (payout,) = pay_all(batch)

    assert payout.status == Payout.Status.SKIPPED
    assert not SandboxTransfer.objects.filter(payout_no=payout.payout_no).exists()
    assert available(tenant) == 9_000  # untouched: the next batch pays the net once due
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.DONE


def test_suppliers_are_paid_from_their_available_payable():
    supplier, small = supplier_make(), supplier_make()
    supplier_settle(supplier_id=supplier.pk, fen=80_000)
    supplier_settle(supplier_id=small.pk, fen=500)
    staff = staff_make()

    batch = services.payout_batch_create(
        kind="supplier", minimum_fen=10_000, created_by=staff, only=[supplier.pk, small.pk]
    )
    services.payout_batch_approve(batch=batch, user=staff, confirmed=True)
    (payout,) = pay_all(batch)

    assert (payout.supplier_id, payout.amount_fen, payout.status) == (supplier.pk, 80_000, "paid")
    assert account_balance_for(ref=AccountRef.supplier_available(supplier.pk)) == 0
    assert account_balance_for(ref=AccountRef.supplier_available(small.pk)) == -500
