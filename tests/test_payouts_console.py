"""Staff console: payout batches listed, made, reviewed, confirmed and approved by staff only."""

from __future__ import annotations

import pytest
from django.test import override_settings

from billing.payouts.models import Payout, PayoutBatch, PayoutEvent
from billing.payouts.testing import commission_settle, creator_make
from catalog.testing import PASSWORD, staff_make, user_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]


@pytest.fixture
def console(shop_client):
    def login(user=None):
        user = user or staff_make()
        client = shop_client("localhost")
        assert client.login(username=user.username, password=PASSWORD)
        client.user = user
        return client

    return login


def make_batch(client, *amounts: int) -> PayoutBatch:
    tenants = [creator_make() for _ in amounts]
    for tenant, fen in zip(tenants, amounts, strict=True):
        commission_settle(tenant_id=tenant.pk, fen=fen)
    response = client.post(
        "/console/payouts/new/", {"kind": "creator", "minimum_yuan": "100.00"}, follow=True
    )
    assert response.status_code == 200
    batch = PayoutBatch.objects.order_by("-pk").first()
    mine = dict(batch.payouts.values_list("tenant_id", "amount_fen"))
    assert all(mine.get(t.pk) == fen for t, fen in zip(tenants, amounts, strict=True))
    return batch


def test_only_staff_reach_payouts(console, shop_client):
    anonymous = shop_client("localhost").get("/console/payouts/")
    fan = console(user_make())

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert fan.get("/console/payouts/").status_code == 302
    assert fan.post("/console/payouts/new/", {"kind": "creator"}).status_code == 302
    assert console().get("/console/payouts/").status_code == 200


def test_staff_make_a_batch_and_see_it_listed_and_detailed(console):
    client = console()
    batch = make_batch(client, 15_000)

    listing = client.get("/console/payouts/").text
    detail = client.get(f"/console/payouts/{batch.pk}/").text

    assert f"/console/payouts/{batch.pk}/" in listing
    assert "Payout batch #" in detail and "awaiting approval" in detail
    assert "¥150.00" in detail
    assert client.user.username in detail  # who made it: the history
    assert "Review and approve" in detail


def test_the_minimum_is_read_in_yuan_to_the_fen(console):
    client = console()
    tenant = creator_make()
    commission_settle(tenant_id=tenant.pk, fen=10_050)

    client.post("/console/payouts/new/", {"kind": "creator", "minimum_yuan": "100.51"})
    batch = PayoutBatch.objects.order_by("-pk").first()
    assert batch is None or not batch.payouts.filter(tenant=tenant).exists()

    client.post("/console/payouts/new/", {"kind": "creator", "minimum_yuan": "100.50"})
    batch = PayoutBatch.objects.order_by("-pk").first()
    assert batch.minimum_fen == 10_050
    assert batch.payouts.get(tenant=tenant).amount_fen == 10_050


def test_nothing_due_is_a_clear_message(console):
    client = console()
    response = client.post(
        "/console/payouts/new/", {"kind": "supplier", "minimum_yuan": "99999999"}, follow=True
    )
    assert "No suppliers has an available balance" in response.text or (
        "available balance of at least the minimum" in response.text
    )


def test_approval_asks_for_confirmation_first(console):
    client = console()
    batch = make_batch(client, 20_000)

    review = client.get(f"/console/payouts/{batch.pk}/approve/").text
    unconfirmed = client.post(f"/console/payouts/{batch.pk}/approve/", {}, follow=True).text
    batch.refresh_from_db()
    assert "final approval" in review and "I have checked the batch" in review
    assert "Tick the confirmation box" in unconfirmed
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL

    done = client.post(f"/console/payouts/{batch.pk}/approve/", {"confirm": "yes"}, follow=True)

    batch.refresh_from_db()
    assert "the payouts are being sent" in done.text
    assert batch.status == PayoutBatch.Status.EXECUTING
    assert set(batch.payouts.values_list("status", flat=True)) == {Payout.Status.QUEUED}
    assert batch.events.filter(action=PayoutEvent.Action.APPROVED, actor=client.user).exists()


@override_settings(VSTORE_PAYOUT_DUAL_APPROVAL_FEN=30_000)
def test_a_large_batch_needs_two_different_staff_in_the_console(console):
    first = console()
    batch = make_batch(first, 20_000, 20_000)
    assert batch.approvals_required == 2

    one = first.post(f"/console/payouts/{batch.pk}/approve/", {"confirm": "yes"}, follow=True)
    twice = first.post(f"/console/payouts/{batch.pk}/approve/", {"confirm": "yes"}, follow=True)
    batch.refresh_from_db()

    assert "Approval 1 of 2 recorded" in one.text
    assert "You have already approved this batch" in twice.text
    assert batch.status == PayoutBatch.Status.AWAITING_APPROVAL
    assert "Another staff member must approve it" in first.get(f"/console/payouts/{batch.pk}/").text

    second = console()
    review = second.get(f"/console/payouts/{batch.pk}/approve/").text
    assert "final approval" in review
    second.post(f"/console/payouts/{batch.pk}/approve/", {"confirm": "yes"})
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTING
    assert batch.approvals.count() == 2


def test_batches_list_is_paginated_and_filtered(console):
    client = console()
    for _ in range(27):
        PayoutBatch.objects.create(
            kind="supplier", minimum_fen=1, provider="sandbox", status="cancelled"
        )

    first = client.get("/console/payouts/?status=cancelled&kind=supplier").text
    second = client.get("/console/payouts/?status=cancelled&kind=supplier&page=2").text
    none = client.get("/console/payouts/?status=done&kind=supplier").text

    assert "Page 1 of 2" in first and "page=2" in first
    assert "Page 2 of 2" in second
    if not PayoutBatch.objects.filter(status="done", kind="supplier").exists():
        assert "No batch matches." in none


def test_staff_cancel_a_waiting_batch(console):
    client = console()
    batch = make_batch(client, 11_000)

    response = client.post(f"/console/payouts/{batch.pk}/cancel/", follow=True)

    batch.refresh_from_db()
    assert "nothing was paid" in response.text
    assert batch.status == PayoutBatch.Status.CANCELLED
    assert set(batch.payouts.values_list("status", flat=True)) == {Payout.Status.CANCELLED}
