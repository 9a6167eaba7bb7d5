"""7-day no-reason returns: the window, the legal exceptions, exact refunds and reversals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import override

from billing.fulfilment import services
from billing.fulfilment.models import ReturnCase, SupplierOrder
from billing.fulfilment.selectors import return_cases_for_order, return_options_for_order
from billing.fulfilment.testing import Item, order_paid
from billing.ledger import AccountRef
from billing.ledger_selectors import (
    account_balance_for,
    balances_recompute_check,
    entry_by_key,
)
from billing.models import Payment, Refund, SandboxTrade
from catalog.models import SKU, Product
from catalog.testing import first_sku, product_make
from tests.storefront_helpers import order_contact_make

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def goods(catalog_media):
    tea = product_make(title="龙井茶")  # supply price 50.00 on every SKU
    bowl = product_make(title="青瓷碗")
    return tea, bowl


def delivered(so: SupplierOrder, *, days_ago: float = 0) -> SupplierOrder:
    services.supplier_order_ship(
        supplier_order=so, supplier=so.supplier, carrier="中通快递", tracking_number="ZT77665544"
    )
    at = timezone.now() - timedelta(days=days_ago)
    SupplierOrder.objects.filter(pk=so.pk).update(shipped_at=at - timedelta(days=1))
    so.refresh_from_db()
    return services.supplier_order_deliver(supplier_order=so, supplier=so.supplier, delivered_at=at)


def postings(key: str) -> dict[AccountRef, int]:
    entry = entry_by_key(key=key)
    assert entry is not None, key
    return {AccountRef.of(p.account): p.amount for p in entry.postings.select_related("account")}


def balances(*refs: AccountRef) -> list[int]:
    return [account_balance_for(ref=ref) for ref in refs]


def test_a_return_in_the_window_refunds_restocks_and_reverses_the_sale(shops, goods, mailoutbox):
    tea, _bowl = goods
    sku = first_sku(tea)
    number = order_contact_make(shops.a, email="buyer-return@example.com")
    payment, [so], [ref] = order_paid(
        tenant=shops.a, items=[Item(sku, 2, 9990)], order_number=number
    )
    delivered(so, days_ago=6.9)
    stock_before = SKU.objects.get(pk=sku.pk).stock
    line = so.lines.get()

    case = services.return_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref, 2)], reason=""
    )
    assert (case.status, case.refund_fen) == (ReturnCase.Status.REQUESTED, 2 * 9990)
    case = services.return_receive(case=case, supplier=tea.supplier)

    assert case.status == ReturnCase.Status.REFUNDED
    refund = Refund.objects.get(idempotency_key=f"return:{case.pk}")
    assert (refund.amount, refund.status) == (2 * 9990, Refund.Status.SUCCEEDED)
    assert case.provider_refund_id == refund.provider_refund_id != ""
    assert SandboxTrade.objects.get(out_trade_no=payment.out_trade_no).refunded_amount == 19980
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert SKU.objects.get(pk=sku.pk).stock == stock_before + 2
    # The whole sale is undone: every figure of the capture entry comes back.
    assert postings(f"return:{case.pk}:reverse") == {
        AccountRef.supplier_payable(tea.supplier_id): 2 * 5000,
        AccountRef.commission_pending(shops.a.pk): line.commission_fen,
        AccountRef.platform_revenue(): line.fee_fen,
        AccountRef.clearing("sandbox"): -19980,
    }
    assert account_balance_for(ref=AccountRef.supplier_payable(tea.supplier_id)) == 0
    assert list(return_cases_for_order(tenant=shops.a, order_number=payment.order_number)) == [case]
    assert balances_recompute_check() == []
    # The buyer is told what comes back.
    with override("en"):
        assert services.fulfilment_notice_send(supplier_order_id=so.pk, step=f"return:{case.pk}")
    assert mailoutbox[-1].to == ["buyer-return@example.com"]
    assert "199.80 yuan go back to you" in mailoutbox[-1].body


def test_partial_returns_are_exact_to_the_fen_and_shipping_goes_back_with_the_last_unit(
    shops, goods
):
    tea, bowl = goods
    tea_3, tea_1 = tea.skus.order_by("id")[:2]
    # goods 3×99.90 + 90.00 + 2×80.00 = 549.70, fee 5% = 27.485 → 27.49; tea ships for 8.00
    payment, orders, (ref_3, ref_1, _ref_bowl) = order_paid(
        tenant=shops.a,
        items=[
            Item(tea_3, 3, 9990, shipping_fen=800),
            Item(tea_1, 1, 9000),
            Item(first_sku(bowl), 2, 8000),
        ],
    )
    assert payment.amount == 55770
    tea_order = next(so for so in orders if so.supplier_id == tea.supplier_id)
    # capture_split: fee 27.49 shared by margin (149.70 / 40.00 / 60.00): 16.48 / 4.40 / 6.61
    assert [(ln.fee_fen, ln.commission_fen) for ln in tea_order.lines.all()] == [
        (1648, 13322),
        (440, 3560),
    ]
    delivered(tea_order, days_ago=1)
    pending, revenue, clearing = (
        AccountRef.commission_pending(shops.a.pk),
        AccountRef.platform_revenue(),
        AccountRef.clearing("sandbox"),
    )
    before = balances(pending, revenue, clearing)

    # One unit of three: 99.90 back, shipping kept; fee ⌊16.48 / 3⌋ = 5.49.
    first = services.return_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref_3, 1)]
    )
    first = services.return_receive(case=first, supplier=tea.supplier)
    assert (first.refund_fen, first.shipping_refund_fen) == (9990, 0)
    assert postings(f"return:{first.pk}:reverse") == {
        AccountRef.supplier_payable(tea.supplier_id): 5000,
        pending: 4990 - 549,
        revenue: 549,
        clearing: -9990,
    }

    # The rest of the tea supplier's goods: the two other units and the other line, plus the
    # 8.00 delivery charge, since nothing of that parcel is kept.
    rest = services.return_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref_3, 2), (ref_1, 1)]
    )
    rest = services.return_receive(case=rest, supplier=tea.supplier)
    assert (rest.refund_fen, rest.shipping_refund_fen) == (2 * 9990 + 9000 + 800, 800)
    assert postings(f"return:{rest.pk}:reverse") == {
        AccountRef.supplier_payable(tea.supplier_id): 2 * 5000 + 5000 + 800,
        pending: (2 * 4990 - (1648 - 549)) + 3560,
        revenue: (1648 - 549) + 440,
        clearing: -29780,
    }

    # Together the two returns undo the tea supplier's part of the capture exactly.
    assert account_balance_for(ref=AccountRef.supplier_payable(tea.supplier_id)) == 0
    after = balances(pending, revenue, clearing)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        13322 + 3560,
        1648 + 440,
        -(55770 - 16000),
    ]
    # The bowl supplier is untouched.
    assert account_balance_for(ref=AccountRef.supplier_payable(bowl.supplier_id)) == -10000
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (
        Payment.Status.PARTIALLY_REFUNDED,
        39770,
    )
    assert balances_recompute_check() == []


def test_a_return_after_the_window_is_refused(shops, goods):
    tea, _bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered(so, days_ago=7.01)

    with override("en"), pytest.raises(ValidationError, match=r"return window .* closed on"):
        services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])
    [option] = return_options_for_order(tenant=shops.a, order_number=payment.order_number)
    assert (option.returnable_quantity, option.why_not) == (0, "window_closed")
    assert not ReturnCase.objects.filter(order_number=payment.order_number).exists()


def test_goods_the_law_excepts_cannot_be_returned_without_a_reason(shops, goods):
    tea, _bowl = goods
    Product.objects.filter(pk=tea.pk).update(return_policy="perishable")
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    assert so.lines.get().return_days == 0
    delivered(so, days_ago=0)

    with override("en"), pytest.raises(ValidationError) as refused:
        services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])
    assert (
        "cannot be returned without a reason (no reason-free return: fresh or perishable)"
        in (refused.value.messages[0])
    )
    [option] = return_options_for_order(tenant=shops.a, order_number=payment.order_number)
    assert option.why_not == "excepted"


def test_returns_wait_for_delivery_and_never_exceed_what_was_bought(shops, goods):
    tea, _bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 2, 9000)])
    number = payment.order_number

    with override("en"):
        with pytest.raises(ValidationError, match="once they are delivered"):
            services.return_open(tenant=shops.a, order_number=number, items=[(ref, 1)])
        delivered(so)
        with pytest.raises(ValidationError, match="no such item"):
            services.return_open(tenant=shops.b, order_number=number, items=[(ref, 1)])
        with pytest.raises(ValidationError, match="at least one unit"):
            services.return_open(tenant=shops.a, order_number=number, items=[(ref, 0)])
        services.return_open(tenant=shops.a, order_number=number, items=[(ref, 1)])
        with pytest.raises(ValidationError, match="Only 1 of"):
            services.return_open(tenant=shops.a, order_number=number, items=[(ref, 2)])


def test_confirming_receipt_twice_refunds_once(shops, goods):
    tea, _bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered(so)
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])

    services.return_receive(case=case, supplier=tea.supplier)
    again = services.return_receive(case=ReturnCase.objects.get(pk=case.pk), supplier=tea.supplier)

    assert again.status == ReturnCase.Status.REFUNDED
    assert Refund.objects.filter(payment=payment).count() == 1
    assert SandboxTrade.objects.get(out_trade_no=payment.out_trade_no).refunded_amount == 9000
    assert entry_by_key(key=f"return:{case.pk}:reverse").postings.count() == 4


def test_another_supplier_cannot_confirm_or_reject_a_return(shops, goods):
    tea, bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered(so)
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])

    with override("en"):
        with pytest.raises(ValidationError, match="not yours"):
            services.return_receive(case=case, supplier=bowl.supplier)
        with pytest.raises(ValidationError, match="not yours"):
            services.return_reject(case=case, supplier=bowl.supplier, note="没收到")
    case.refresh_from_db()
    assert case.status == ReturnCase.Status.REQUESTED
    assert not Refund.objects.filter(payment=payment).exists()


def test_a_rejected_return_frees_its_units_and_refunds_nothing(shops, goods):
    tea, _bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered(so)
    number = payment.order_number
    case = services.return_open(tenant=shops.a, order_number=number, items=[(ref, 1)])

    with override("en"), pytest.raises(ValidationError):
        services.return_reject(case=case, supplier=tea.supplier, note="  ")
    services.return_reject(case=case, supplier=tea.supplier, note="包裹里是空的")

    assert so.lines.get().returned_quantity == 0
    assert not Refund.objects.filter(payment=payment).exists()
    with override("en"), pytest.raises(ValidationError, match="can no longer change"):
        services.return_receive(case=case, supplier=tea.supplier)
    # The buyer may ask again for the same unit.
    services.return_open(tenant=shops.a, order_number=number, items=[(ref, 1)])


def test_items_of_two_suppliers_are_returned_as_one_case_each(shops, goods):
    tea, bowl = goods
    payment, _orders, (ref_tea, ref_bowl) = order_paid(
        tenant=shops.a, items=[Item(first_sku(tea), 1, 9000), Item(first_sku(bowl), 1, 8000)]
    )
    for so in _orders:
        delivered(so)

    with override("en"), pytest.raises(ValidationError, match="one supplier at a time"):
        services.return_open(
            tenant=shops.a, order_number=payment.order_number, items=[(ref_tea, 1), (ref_bowl, 1)]
        )
    cases = services.returns_open(
        tenant=shops.a, order_number=payment.order_number, items=[(ref_tea, 1), (ref_bowl, 1)]
    )

    assert sorted(c.supplier_order.supplier_id for c in cases) == sorted(
        [tea.supplier_id, bowl.supplier_id]
    )


def test_an_unreachable_provider_leaves_the_return_received_and_a_retry_refunds_once(shops, goods):
    tea, _bowl = goods
    payment, [so], [ref] = order_paid(tenant=shops.a, items=[Item(first_sku(tea), 1, 9000)])
    delivered(so)
    case = services.return_open(tenant=shops.a, order_number=payment.order_number, items=[(ref, 1)])
    # The sandbox refuses refunds of a trade it does not hold as paid: a provider error.
    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(status="waiting")

    with pytest.raises(services.RefundNotMade):
        services.return_receive(case=case, supplier=tea.supplier)
    case.refresh_from_db()
    assert case.status == ReturnCase.Status.RECEIVED
    assert entry_by_key(key=f"return:{case.pk}:reverse") is None

    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(status="paid")
    case = services.return_receive(case=case, supplier=tea.supplier)

    assert case.status == ReturnCase.Status.REFUNDED
    assert Refund.objects.filter(payment=payment).count() == 1
    assert SandboxTrade.objects.get(out_trade_no=payment.out_trade_no).refunded_amount == 9000
    assert balances_recompute_check() == []
