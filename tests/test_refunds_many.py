"""billing.refunds_many and adjustments_post_many: many refunds and postings at once keep every
rule of the one-at-a-time path (a key refunds once, refusals are per refund and leave nothing
half-written, an unreachable provider leaves the refund pending for the same key), and the
shops hear of them once each, only their own.

Payments are real sandbox payments of group-buy orders (the batched path's user)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from billing.adjustments import (
    Adjustment,
    adjustment_post,
    adjustments_post_many,
    capture_targets,
    payment_balances,
)
from billing.ledger_selectors import balances_recompute_check
from billing.models import JournalEntry, Payment, Refund, SandboxTrade
from billing.refunds_many import RefundAsk, payments_refund_many
from billing.services import RefundRefused, payment_refund
from storefront.orders.services import capture_lines
from storefront.shopapi.models import ShopDelivery, ShopWebhook

from .groupbuy_helpers import joined_paid, tiered

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def paid_payments(shop, n: int) -> list[Payment]:
    campaign, _item = tiered(shop, min_buyers=1)
    orders = joined_paid(shop, campaign, n)
    return [
        Payment.objects.exclude(captured_at=None).get(tenant=shop, order_number=o.number)
        for o in orders
    ]


def trade(payment: Payment) -> SandboxTrade:
    return SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)


def test_each_refund_is_made_once_and_the_payment_knows_it(shops):
    p1, p2 = paid_payments(shops.a, 2)
    asks = [RefundAsk(p1.pk, 1000, "k1", "difference"), RefundAsk(p2.pk, 2500, "k2")]

    first = payments_refund_many(asks=asks)
    again = payments_refund_many(asks=asks)

    assert {k: r.status for k, r in first.items()} == {"k1": "succeeded", "k2": "succeeded"}
    assert {k: r.pk for k, r in again.items()} == {k: r.pk for k, r in first.items()}
    assert Refund.objects.filter(payment__in=[p1, p2]).count() == 2
    assert (trade(p1).refunded_amount, trade(p2).refunded_amount) == (1000, 2500)
    p1.refresh_from_db()
    assert (p1.refunded_amount, p1.status) == (1000, "partially_refunded")
    # The one-at-a-time path answers the same key with the same refund.
    assert payment_refund(payment=p1, amount=1000, idempotency_key="k1").pk == first["k1"].pk


def test_a_refused_ask_leaves_the_others_and_nothing_half_written(shops):
    p1, p2 = paid_payments(shops.a, 2)
    payments_refund_many(asks=[RefundAsk(p1.pk, 500, "taken")])
    too_much = p2.amount + 1

    out = payments_refund_many(
        asks=[
            RefundAsk(p1.pk, 700, "taken"),  # the key names another refund (500 fen)
            RefundAsk(p2.pk, too_much, "greedy"),
            RefundAsk(p2.pk, 0, "nothing"),
            RefundAsk(p1.pk, 300, "fine"),
        ]
    )

    assert isinstance(out["taken"], RefundRefused) and isinstance(out["greedy"], RefundRefused)
    assert isinstance(out["nothing"], RefundRefused)
    assert out["fine"].status == "succeeded"
    p1.refresh_from_db()
    p2.refresh_from_db()
    assert (p1.refunded_amount, p2.refunded_amount, p2.status) == (800, 0, "captured")
    assert trade(p2).refunded_amount == 0
    assert not Refund.objects.filter(idempotency_key__in=["greedy", "nothing"]).exists()


def test_the_provider_limit_of_refunds_per_payment_holds(shops):
    (p1,) = paid_payments(shops.a, 1)
    out = payments_refund_many(
        asks=[RefundAsk(p1.pk, 1, f"part-{i}") for i in range(3)], max_per_payment=2
    )
    assert [type(out[f"part-{i}"]).__name__ for i in range(3)] == [
        "Refund",
        "Refund",
        "RefundRefused",
    ]
    assert trade(p1).refunded_amount == 2


def test_an_unreachable_provider_leaves_the_refund_pending_for_the_same_key(shops):
    p1, p2 = paid_payments(shops.a, 2)
    SandboxTrade.objects.filter(out_trade_no=p1.out_trade_no).update(status="waiting")

    out = payments_refund_many(asks=[RefundAsk(p1.pk, 900, "a"), RefundAsk(p2.pk, 900, "b")])

    assert out["a"].status == "pending" and "not paid" in out["a"].last_error
    assert Refund.objects.get(idempotency_key="a").last_error == out["a"].last_error
    assert out["b"].status == "succeeded"
    SandboxTrade.objects.filter(out_trade_no=p1.out_trade_no).update(status="paid")
    retried = payments_refund_many(asks=[RefundAsk(p1.pk, 900, "a")])
    assert retried["a"].pk == out["a"].pk and retried["a"].status == "succeeded"
    assert retried["a"].out_refund_no == out["a"].out_refund_no  # the same number, as WeChat asks
    assert trade(p1).refunded_amount == 900


def test_the_shop_hears_of_each_refund_once_and_no_other_shop_does(
    shops, django_capture_on_commit_callbacks
):
    for shop in (shops.a, shops.b):
        with tenant_context(shop):
            ShopWebhook.objects.create(
                url="https://erp.example.com/hook", events=["refund.succeeded"], secret="s" * 32
            )
    connection.set_schema_to_public()
    p1, p2 = paid_payments(shops.a, 2)

    with django_capture_on_commit_callbacks(execute=True):
        payments_refund_many(asks=[RefundAsk(p1.pk, 1000, "w1"), RefundAsk(p2.pk, p2.amount, "w2")])
    with django_capture_on_commit_callbacks(execute=True):
        payments_refund_many(asks=[RefundAsk(p1.pk, 1000, "w1")])  # a repeat tells nobody

    with tenant_context(shops.a):
        told = sorted(
            (d.payload["order_number"], d.payload["fully"], d.payload["refunded_fen"])
            for d in ShopDelivery.objects.filter(event="refund.succeeded")
        )
    with tenant_context(shops.b):
        assert not ShopDelivery.objects.exists()
    connection.set_schema_to_public()
    assert told == sorted([(p1.order_number, False, 1000), (p2.order_number, True, p2.amount)])


def test_postings_at_once_equal_postings_one_by_one(shops):
    p1, p2 = paid_payments(shops.a, 2)
    with tenant_context(shops.a):
        from storefront.models import Order

        lines = {
            p.pk: list(Order.objects.get(number=p.order_number).lines.order_by("id"))
            for p in (p1, p2)
        }
    connection.set_schema_to_public()
    for p in (p1, p2):
        payment_refund(payment=p, amount=2000, idempotency_key=f"diff-{p.pk}")
        for line in lines[p.pk]:
            line.retail_price_fen -= 2000 // line.quantity
    one = Adjustment(p1, capture_lines(lines[p1.pk]), 2000, "adj-1", "final price")
    adjustment_post(
        payment=p1, lines=one.lines, refund_fen=one.refund_fen, key=one.key, memo=one.memo
    )
    expected = payment_balances(payment=p1)

    adjustments_post_many(
        adjustments=[one, Adjustment(p2, capture_lines(lines[p2.pk]), 2000, "adj-2")]
    )
    adjustments_post_many(adjustments=[Adjustment(p2, capture_lines(lines[p2.pk]), 2000, "adj-2")])

    assert payment_balances(payment=p1) == expected  # a posted key is not posted again
    assert payment_balances(payment=p2) == capture_targets(
        payment=p2, lines=capture_lines(lines[p2.pk])
    )
    assert JournalEntry.objects.filter(idempotency_key__in=["adj-1", "adj-2"]).count() == 2
    assert balances_recompute_check() == []
