"""A successful group buy's members settled a batch at a time (its close, thousands of buyers).

services.member_settle does one member in four steps; this does the same four for a batch,
each step a few statements for all of its members instead of a dozen per member:

1. the figures: under the members' locks, each one's refund of the difference (once);
2. the refunds, through billing.refunds_many (one request to the provider per refund, keyed
   per member and attempt exactly as member_settle keys them);
3. one transaction: the order lines and totals repriced, the ledger moved to the final price
   (billing.adjustments.adjustments_post_many), the members settled;
4. the supplier orders of a batch in one transaction (orders_fulfil_many, idempotent), after
   every refund.

Both paths key every write the same way, so either finishes what the other left after a
crash; a member whose refund the provider has not made stays paid for the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.adjustments import PARTIAL_REFUNDS_MAX, Adjustment, adjustments_post_many
from billing.models import Payment, Refund
from billing.refunds_many import RefundAsk, payments_refund_many
from core.money import yuan
from core.rows import rows_update
from core.shop import current_shop_id
from storefront.models import Order, OrderLine

from .models import GroupMember
from .services import REPRICED_FIELDS, _difference, _lines_reprice, _refund_key

logger = logging.getLogger(__name__)

BATCH = 250  # members per batch: big enough to amortise, small enough to hold locks briefly


def _lines_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    out: defaultdict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=order_ids).order_by("order_id", "id"):
        out[line.order_id].append(line)
    return out


def _refunds_fix(member_ids: Sequence[int]) -> None:
    """Step 1: each paid member's refund of the difference, fixed once under her lock."""

    with transaction.atomic():
        members = list(
            GroupMember.objects.select_for_update()
            .filter(
                pk__in=member_ids,
                status=GroupMember.Status.PAID,
                final_price_fen__isnull=False,
                refund_fen__isnull=True,
            )
            .order_by("pk")
        )
        lines = _lines_by_order([m.order_id for m in members])
        for member in members:
            member.refund_fen = _difference(lines[member.order_id], member.final_price_fen or 0)
        rows_update(members, ["refund_fen"])


def _payments_of(numbers: Sequence[str]) -> dict[str, Payment]:
    """Each order's first captured payment (services._payment_of, for many)."""
    out: dict[str, Payment] = {}
    rows = (
        Payment.objects.filter(tenant_id=current_shop_id(), order_number__in=numbers)
        .exclude(captured_at=None)
        .select_related("tenant")
        .order_by("-pk")
    )
    for payment in rows:  # newest first, so each order's oldest is written last and stays
        out[payment.order_number] = payment
    return out


def _refunds_make(members: Sequence[GroupMember], payments: dict[str, Payment]) -> list[int]:
    """Step 2: the differences refunded; returns the members whose refund has succeeded (or
    who have nothing to get back). The others keep the error for the staff and the next run;
    a refund the provider failed gets a new attempt (a new key) next time."""
    asks: dict[int, RefundAsk] = {}
    ready: list[int] = []
    missing: list[int] = []
    for m in members:
        payment = payments.get(m.order.number)
        if payment is None:
            missing.append(m.pk)
        elif m.refund_fen:
            asks[m.pk] = RefundAsk(
                payment_id=payment.pk,
                amount=m.refund_fen,
                key=_refund_key(m, "diff"),
                reason=_("Group buy: price difference"),
            )
        else:
            ready.append(m.pk)
    outcomes = payments_refund_many(asks=list(asks.values()), max_per_payment=PARTIAL_REFUNDS_MAX)
    held: list[GroupMember] = []
    for m in members:
        ask = asks.get(m.pk)
        if ask is None:
            continue
        outcome = outcomes[ask.key]
        if isinstance(outcome, Refund) and outcome.status == Refund.Status.SUCCEEDED:
            ready.append(m.pk)
            continue
        if isinstance(outcome, Refund) and outcome.status == Refund.Status.FAILED:
            m.refund_attempt += 1
            m.refund_error = outcome.last_error[:200]
        else:
            m.refund_error = str(
                outcome if not isinstance(outcome, Refund) else outcome.last_error or "pending"
            )[:200]
        held.append(m)
    for pk in missing:
        logger.error("group buy member %s: her order has no captured payment", pk)
    rows_update(held, ["refund_attempt", "refund_error"])
    if held:
        logger.warning("group buy: %d refunds not made yet, left for the next run", len(held))
    return ready


def _reprice_and_post(member_ids: Sequence[int], payments: dict[str, Payment]) -> list[int]:
    """Step 3, one transaction: lines and totals at the final price, the ledger moved, the
    members settled. Locks in services' order: the orders, then the members."""
    from storefront.orders.services import capture_lines

    if not member_ids:
        return []
    with transaction.atomic():
        order_ids = list(
            GroupMember.objects.filter(pk__in=member_ids).values_list("order_id", flat=True)
        )
        orders = {
            o.pk: o
            for o in Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")
        }
        members = list(
            GroupMember.objects.select_for_update()
            .filter(pk__in=member_ids, status=GroupMember.Status.PAID)
            .order_by("pk")
        )
        lines = _lines_by_order([m.order_id for m in members])
        changed_lines: list[OrderLine] = []
        changed_orders: list[Order] = []
        adjustments: list[Adjustment] = []
        for m in members:
            order, mine, final = orders[m.order_id], lines[m.order_id], m.final_price_fen or 0
            changed, moved = _lines_reprice(mine, final)
            changed_lines += changed
            if moved != (m.refund_fen or 0):
                raise RuntimeError(f"member {m.pk}: repriced {moved}, refund {m.refund_fen}")
            if moved:
                order.goods_fen -= moved
                order.total_fen -= moved
                changed_orders.append(order)
            adjustments.append(
                Adjustment(
                    payment=payments[order.number],
                    lines=capture_lines(mine),
                    refund_fen=m.refund_fen or 0,
                    key=f"groupbuy:{current_shop_id()}:{m.pk}:adjust",
                    memo=f"group buy {m.campaign_id}: final price {yuan(final)}",
                )
            )
        rows_update(changed_lines, REPRICED_FIELDS)
        rows_update(changed_orders, ["goods_fen", "total_fen"])
        adjustments_post_many(adjustments=adjustments)
        settled = [m.pk for m in members]
        GroupMember.objects.filter(pk__in=settled).update(
            status=GroupMember.Status.SETTLED, settled_at=timezone.now(), refund_error=""
        )
    return settled


def members_settle_many(*, member_ids: Sequence[int]) -> int:
    """Steps 1–3 for MEMBER_IDS (paid members of a succeeded group buy, final price fixed);
    returns how many were settled. Their supplier orders are members_fulfil_many's."""
    _refunds_fix(member_ids)
    members = list(
        GroupMember.objects.select_related("order")
        .filter(pk__in=member_ids, status=GroupMember.Status.PAID, final_price_fen__isnull=False)
        .order_by("pk")
    )
    if not members:
        return 0
    payments = _payments_of([m.order.number for m in members])
    ready = _refunds_make(members, payments)
    return len(_reprice_and_post(ready, payments))


def members_fulfil_many(*, member_ids: Sequence[int]) -> None:
    """Step 4: the settled members' supplier orders, on their final prices, in one
    transaction (storefront.orders.services.orders_fulfil_many)."""
    from storefront.orders.services import orders_fulfil_many

    with transaction.atomic():
        members = GroupMember.objects.filter(
            pk__in=member_ids, status=GroupMember.Status.SETTLED, fulfilled=False
        )
        done = list(members.values_list("pk", "order__number"))
        orders_fulfil_many(order_numbers=[number for _pk, number in done])
        GroupMember.objects.filter(pk__in=[pk for pk, _number in done]).update(fulfilled=True)
