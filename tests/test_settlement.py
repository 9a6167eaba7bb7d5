"""Settlement: money becomes available once the return window closed, once per supplier order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.fulfilment import services, settlement
from billing.fulfilment.models import SupplierOrder
from billing.fulfilment.testing import Item, order_paid
from billing.ledger import AccountRef, entry_post
from billing.ledger_selectors import (
    account_balance_for,
    balances_recompute_check,
    entry_by_key,
    owed_fen,
)
from billing.models import JournalEntry
from catalog.testing import first_sku, product_make

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def tea(catalog_media):
    return product_make(title="龙井茶")


def delivered_at(so: SupplierOrder, at) -> SupplierOrder:
    services.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="圆通速递", tracking_number="YT20261122"
    )
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=at - timedelta(hours=20))
    so.refresh_from_db()
    return services.supplier_order_deliver(supplier_order=so, supplier=so.supplier, delivered_at=at)


def postings(key: str) -> dict[AccountRef, int]:
    entry = entry_by_key(key=key)
    assert entry is not None, key
    return {AccountRef.of(p.account): p.amount for p in entry.postings.select_related("account")}


def test_settlement_releases_money_only_after_the_window_and_only_once(shops, tea):
    _payment, [so], _refs = order_paid(
        tenant=shops.a, items=[Item(first_sku(tea), 2, 9990, shipping_fen=800)]
    )
    line = so.lines.get()
    delivered = timezone.now() - timedelta(days=1)
    so = delivered_at(so, delivered)
    supplier = tea.supplier_id

    settlement.settlement_run(now=delivered + timedelta(days=7) - timedelta(seconds=1))
    so.refresh_from_db()
    assert so.settled_at is None
    assert entry_by_key(key=f"settle:{so.pk}") is None

    closed = delivered + timedelta(days=7)
    assert settlement.settlement_run(now=closed) >= 1
    so.refresh_from_db()
    assert so.settled_at == closed
    assert postings(f"settle:{so.pk}") == {
        AccountRef.commission_pending(shops.a.pk): line.commission_fen,
        AccountRef.commission_available(shops.a.pk): -line.commission_fen,
        AccountRef.supplier_payable(supplier): 2 * 5000 + 800,
        AccountRef.supplier_available(supplier): -(2 * 5000 + 800),
    }
    assert owed_fen(ref=AccountRef.supplier_payable(supplier)) == 0
    assert owed_fen(ref=AccountRef.supplier_available(supplier)) == 10800

    # A second run (the beat fired twice, a retried task) settles nothing again.
    settlement.settlement_run(now=closed + timedelta(days=1))
    assert JournalEntry.objects.filter(idempotency_key__startswith=f"settle:{so.pk}").count() == 1
    assert owed_fen(ref=AccountRef.supplier_available(supplier)) == 10800
    assert balances_recompute_check() == []


def test_a_return_in_progress_holds_settlement_and_only_the_rest_is_released(shops, tea):
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 3, 9990)])
    line = so.lines.get()
    delivered = timezone.now() - timedelta(days=2)
    so = delivered_at(so, delivered)
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])

    later = delivered + timedelta(days=8)
    settlement.settlement_run(now=later)
    so.refresh_from_db()
    assert so.settled_at is None  # the supplier has not confirmed the return yet

    case = services.return_receive(case=case, supplier=tea.supplier)
    settlement.settlement_run(now=later)
    so.refresh_from_db()
    assert so.settled_at == later
    reversed_commission = case.lines.get().commission_fen
    assert postings(f"settle:{so.pk}") == {
        AccountRef.commission_pending(shops.a.pk): line.commission_fen - reversed_commission,
        AccountRef.commission_available(shops.a.pk): -(line.commission_fen - reversed_commission),
        AccountRef.supplier_payable(tea.supplier_id): 2 * 5000,
        AccountRef.supplier_available(tea.supplier_id): -2 * 5000,
    }
    assert account_balance_for(ref=AccountRef.supplier_payable(tea.supplier_id)) == 0
    assert balances_recompute_check() == []


def test_a_fully_returned_order_settles_with_nothing_to_release(shops, tea):
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered = timezone.now() - timedelta(days=1)
    so = delivered_at(so, delivered)
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])
    services.return_receive(case=case, supplier=tea.supplier)

    settlement.settlement_run(now=delivered + timedelta(days=7))

    so.refresh_from_db()
    assert so.settled_at is not None
    assert entry_by_key(key=f"settle:{so.pk}") is None


def test_a_clawback_after_payout_leaves_a_negative_balance(shops, tea):
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 2, 9990)])
    line = so.lines.get()
    delivered = timezone.now() - timedelta(days=10)
    so = delivered_at(so, delivered)
    settlement.settlement_run(now=timezone.now())
    available = AccountRef.commission_available(shops.a.pk)
    supplier_available = AccountRef.supplier_available(tea.supplier_id)
    # Pay both out, as a payout batch would: the available balances leave through clearing.
    start = owed_fen(ref=available)
    entry_post(
        key=f"test-payout:{so.pk}",
        lines=[
            (available, line.commission_fen),
            (supplier_available, 2 * 5000),
            (AccountRef.clearing("sandbox"), -(line.commission_fen + 2 * 5000)),
        ],
    )
    assert owed_fen(ref=available) == start - line.commission_fen
    assert owed_fen(ref=supplier_available) == 0

    # Staff accept a return after the window (a defect, 消法 art. 24): the clawback comes out
    # of the available balances, which go below zero until the next payouts net them.
    case = services.return_open(
        tenant=shops.a,
        order_number=payment.order_number,
        items=[(ref, 1)],
        reason="质量问题",
        override_window=True,
    )
    case = services.return_receive(case=case, supplier=None)

    shares = case.lines.get()
    assert postings(f"return:{case.pk}:reverse") == {
        supplier_available: 5000,
        available: shares.commission_fen,
        AccountRef.platform_revenue(): shares.fee_fen,
        AccountRef.clearing("sandbox"): -9990,
    }
    assert owed_fen(ref=supplier_available) == -5000
    assert owed_fen(ref=available) == start - line.commission_fen - shares.commission_fen
    assert balances_recompute_check() == []


def test_shards_settle_disjoint_orders_and_together_all_of_them(shops, tea):
    delivered = timezone.now() - timedelta(days=8)
    orders = []
    for _ in range(4):
        _payment, [so], _refs = order_paid(tenant=shops.b, items=[Item(first_sku(tea), 1, 9000)])
        orders.append(delivered_at(so, delivered))

    settlement.settlement_run(shard=0, shards=2)
    settled = set(
        SupplierOrder.objects.filter(
            pk__in=[so.pk for so in orders], settled_at__isnull=False
        ).values_list("pk", flat=True)
    )
    assert settled == {so.pk for so in orders if so.pk % 2 == 0}
    settlement.settlement_run(shard=1, shards=2)

    assert not SupplierOrder.objects.filter(
        pk__in=[so.pk for so in orders], settled_at__isnull=True
    ).exists()
    with pytest.raises(ValueError):
        settlement.settlement_run(shard=2, shards=2)
