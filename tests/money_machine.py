"""A Hypothesis state machine over the whole money flow after the sale (issue 6).

It drives the real services in random order: orders placed in two shops (shared stock), sandbox
payments captured by signed notifications through the real notify view, order_mark_paid,
expiry, shipping, delivery (in the past, so return windows are open or closed), 7-day returns
(partial) and staff-overridden returns after settlement, settlement with a clock the machine
advances, payout batches made, approved (one or two staff) and executed (twice, and once as a
worker that died after the provider's transfer). Every message is also delivered twice.

After every step the invariants below are checked against the database. They are the rules
the money must keep; each is written where it is checked (`MoneyMachine.check_*`):

1. Every journal entry sums to zero: the database's deferred triggers are fired on the spot
   (SET CONSTRAINTS ALL IMMEDIATE), and `balances_recompute_check()` returns [].
2. Balances equal their recomputation from the business rows, per account, as a change since
   the example began (other tests may have left committed entries behind):
     commission pending(shop)   owed = Σ unsettled supplier orders (commission − refunded)
     commission available(shop) owed = Σ settled supplier orders (the same) − paid payouts
     supplier payable(sup)      owed = Σ unsettled (supply × qty + shipping − refunded supply and
                                       shipping)
     supplier available(sup)    owed = Σ settled (the same) − paid payouts
     platform revenue           owed = Σ fees − refunded fees
     clearing(sandbox)       balance = Σ captured payments booked (order_mark_paid ran)
                                       − Σ return refunds − Σ paid payouts
3. Signs. Pending commission, supplier payable and platform revenue are never negative (owed
   ≥ 0): a return reverses at most what its units brought in. An *available* balance (creator
   or supplier) goes negative only after a return refunded on a supplier order that was
   already settled (a staff-overridden return, 消法 art. 24: the money may already be paid
   out; the next payout nets it). The sandbox clearing account is never negative unless such a
   clawback happened (otherwise it holds exactly what is still owed to someone).
4. Stock per SKU: the stock at the start of the example == stock now + units in paid orders −
   units of refunded returns + units in orders awaiting payment (expired orders hold nothing).
5. Nothing is paid twice: an order has at most one captured payment and, once paid, exactly
   one capture entry and one supplier order per supplier (none before); each payment's
   refunds sum to its refunded amount, never above what was captured, equal to the refunded
   return cases' refunds and to what the sandbox provider refunded; a refunded return has one
   reversal entry; a supplier order settles once; a paid payout has exactly one sandbox
   transfer of its amount and one ledger entry, an unpaid one none; an expired order's late
   payment is refunded in full and never captured.
6. Coupons (issue 12): orders may carry a creator-funded and a platform-funded coupon share on
   each line (up to the whole commission; up to the whole line). The supplier is paid its
   supply price on every line: the capture credits each supplier Σ supply price × qty +
   shipping, and every refunded return takes back exactly supply price × units.
7. A creator's net on a line is never below zero from her own coupon: her commission on every
   line is margin − fee − her coupon ≥ 0, no return gives her more than it takes, and what
   she keeps of a line after its refunded returns is ≥ 0. The platform marketing expense
   equals the platform's coupon shares still standing (the balances of rule 2).

Group buys (issue 14) take part in all of it: tiered group buys are started in the shops,
joined through their tickets, paid like any order, cancelled and closed by the rules of
tests/money_groupbuy.py, and the orders of a group that succeeded ship, return and settle like
the others. The rules above then read: (2) a paid member's order whose group has not succeeded
yet is booked as its capture split (the price she paid), with no supplier order; (4) a group
buy's units not held by a member count as held until it gives them back to the SKU; (5) a
payment's refunds are its returns' plus its group buy refund (a price difference, or all of it
for a member refunded in full, whose order is cancelled with its capture reversed once). The
rules of group buys themselves (8–10) are in tests/money_groupbuy.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from billing.fulfilment.models import ReturnCase, ReturnCaseLine, SupplierOrder, SupplierOrderLine
from billing.fulfilment.services import (
    return_cancel,
    return_open,
    return_receive,
    supplier_order_deliver,
    supplier_order_ship,
)
from billing.fulfilment.settlement import settlement_run
from billing.ledger import AccountRef, capture_split, creator_discount_cap_fen
from billing.ledger_selectors import account_balance_for, balances_recompute_check
from billing.models import AccountKind, JournalEntry, Payment, Posting, Refund, SandboxTrade
from billing.payouts import services as payouts
from billing.payouts.models import BeneficiaryKind, Payout, PayoutBatch, SandboxTransfer
from billing.payouts.providers import payout_provider
from billing.services import sandbox_trade_pay
from catalog.models import SKU
from storefront.groupbuy.models import GroupBuy
from storefront.models import Order, OrderLine
from storefront.orders.services import (
    OutOfStock,
    Want,
    capture_lines,
    order_expire,
    order_mark_paid,
    order_payment_start,
    order_place,
    orders_expire_due,
)

from .money_groupbuy import GroupBuyRules
from .payments_helpers import post_notification
from .storefront_helpers import BUYER

CAPTURED = (Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED)
S = SupplierOrder.Status
R = ReturnCase.Status

picks = st.integers(min_value=0, max_value=10_000)
# An order's lines: product index (0..2) → quantity.
order_lines = st.dictionaries(
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=1, max_value=3),
    min_size=1,
    max_size=3,
)
_tracking = itertools.count(100000)
# Coupon shares an order may carry, per line. Creator: none, a third, half or all of her
# commission on the line (the cap). Platform: none, 3/7 of what is left of the line (an awkward
# fraction), or all of it (but one fen of the first line, so the payment is never zero).
creator_coupons = st.sampled_from([0, 0, 1, 2, 3])
platform_coupons = st.sampled_from([0, 0, 1, 2])


@dataclasses.dataclass
class World:
    """What the test made once, before any example: two shops selling the same three SKUs
    (two from supplier X, one of them perishable so it has no return window, one from Y)."""

    shops: dict[str, Any]  # "a"/"b" → Tenant
    items: dict[str, list[int]]  # shop → its ListingItem ids, index = product
    skus: list[int]
    suppliers: list[Any]  # Supplier rows
    staff: list[Any]  # two staff users


@dataclasses.dataclass
class Placed:
    shop: str
    number: str
    payment_id: int
    notifications: list[str] = dataclasses.field(default_factory=list)
    group: int | None = None  # the GroupBuy it joined (tests/money_groupbuy.py)


# What the examples of a run reached (the test asserts the deep paths were all taken).
REACHED: Counter[str] = Counter()


def seen(label: str) -> None:
    REACHED[label] += 1
    event(label)


def _public() -> None:
    connection.set_schema_to_public()


class MoneyMachine(GroupBuyRules, RuleBasedStateMachine):
    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        # Each example is one savepoint, rolled back in teardown: the next starts clean.
        _public()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        w = self.world
        self.clock: datetime = timezone.now()
        self.orders: list[Placed] = []
        self.batches: list[int] = []
        self.groups: list[tuple[str, int]] = []
        # Beneficiaries whose available balance may go negative: a return refunded on a
        # supplier order that was already settled ("creator", tenant id) / ("supplier", id).
        self.clawed: set[tuple[str, int]] = set()
        self.stock0 = dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock"))
        self.refs = self._refs()
        self.base = {ref: account_balance_for(ref=ref) for ref in self.refs}
        self.entry0 = JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def teardown(self) -> None:
        _public()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _refs(self) -> list[AccountRef]:
        w = self.world
        refs = [
            AccountRef.platform_revenue(),
            AccountRef.clearing("sandbox"),
            AccountRef.platform_marketing(),
        ]
        for shop in w.shops.values():
            refs += [
                AccountRef.commission_pending(shop.pk),
                AccountRef.commission_available(shop.pk),
            ]
        for sup in w.suppliers:
            refs += [AccountRef.supplier_payable(sup.pk), AccountRef.supplier_available(sup.pk)]
        return refs

    # --- helpers --------------------------------------------------------------------------

    def seen(self, label: str) -> None:
        seen(label)

    def _numbers(self) -> list[str]:
        return [o.number for o in self.orders]

    def _sos(self):
        w = self.world
        return SupplierOrder.objects.filter(
            tenant__in=list(w.shops.values()), order_number__in=self._numbers()
        ).order_by("pk")

    def _order_status(self, placed: Placed) -> str:
        with tenant_context(self.world.shops[placed.shop]):
            status = Order.objects.get(number=placed.number).status
        _public()
        return status

    def _orders_in(self, *statuses: str) -> list[Placed]:
        found = []
        for shop, tenant in self.world.shops.items():
            mine = [o.number for o in self.orders if o.shop == shop]
            with tenant_context(tenant):
                numbers = set(
                    Order.objects.filter(number__in=mine, status__in=statuses).values_list(
                        "number", flat=True
                    )
                )
            found += [o for o in self.orders if o.shop == shop and o.number in numbers]
        _public()
        return found

    def _mark_paid(self, placed: Placed) -> None:
        with tenant_context(self.world.shops[placed.shop]):
            order_mark_paid(order_number=placed.number, payment_id=placed.payment_id)
        _public()

    def _notify(self, placed: Placed, notification_id: str) -> int:
        payment = Payment.objects.get(pk=placed.payment_id)
        status = post_notification(payment, notification_id=notification_id).status_code
        _public()
        return status

    # --- what each rule can act on (preconditions: Hypothesis picks only rules that apply)

    def _payments(self):
        return Payment.objects.filter(pk__in=[o.payment_id for o in self.orders])

    def can_pay(self) -> bool:
        return self._payments().filter(status=Payment.Status.CREATED).exists()

    def can_run_hook(self) -> bool:
        return self._payments().filter(status__in=CAPTURED, supplier_orders__isnull=True).exists()

    def can_expire(self) -> bool:
        return self.can_pay() or self.can_run_hook()

    def can_pay_late(self) -> bool:
        return self._payments().filter(status=Payment.Status.EXPIRED, refunded_amount=0).exists()

    def has_so(self, status: str) -> bool:
        return self._sos().filter(status=status).exists()

    # --- orders and payments --------------------------------------------------------------

    @initialize(
        a=order_lines,
        b=order_lines,
        days_ago=st.lists(st.integers(min_value=0, max_value=10), min_size=4, max_size=4),
        coupons=st.lists(st.sampled_from([0, 1, 2, 3]), min_size=4, max_size=4),
    )
    def delivered_orders_to_start_with(
        self, a: dict[int, int], b: dict[int, int], days_ago: list[int], coupons: list[int]
    ) -> None:
        """Each example starts with a paid order in each shop, shipped and delivered DAYS_AGO
        (return windows open or closed), so that the later stages (returns, settlement,
        payouts) are reached within a bounded number of steps; the rules below take orders
        placed later through every stage one step at a time. Most of these first orders carry
        coupons (COUPONS: creator and platform shares of each), so returns of couponed
        orders are reached too."""
        self.place_order("a", a, coupons[0], coupons[1] % 3)
        self.place_order("b", b, coupons[2], coupons[3] % 3)
        for placed in list(self.orders):
            self._pay(placed, "once")
        self.ship(0, every=True)
        for days in days_ago:
            if self.has_so(S.SHIPPED):
                self.deliver(0, days, every=False)

    # At most six orders an example: the steps go to what happens after the sale.
    @precondition(lambda self: sum(o.group is None for o in self.orders) < 6)
    @rule(
        shop=st.sampled_from(["a", "b"]),
        lines=order_lines,
        creator=creator_coupons,
        platform=platform_coupons,
    )
    def place_order(
        self, shop: str, lines: dict[int, int], creator: int = 0, platform: int = 0
    ) -> None:
        w = self.world
        before = dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock"))
        wants = [Want(w.items[shop][i], q) for i, q in sorted(lines.items())]
        try:
            with tenant_context(w.shops[shop]):
                order = order_place(wants=wants, buyer=BUYER)
                self._coupons_apply(order, creator, platform)
                payment = order_payment_start(order=order, provider="sandbox", return_url="")
                again = order_payment_start(order=order, provider="sandbox", return_url="")
                assert again.pk == payment.pk  # a second "pay" click reuses the open payment
        except ValidationError as refused:
            # Sold out between the cart and the order (OutOfStock), or the listing shows it
            # sold out already ("unavailable"): either way nothing is ordered.
            assert isinstance(refused, OutOfStock) or refused.code == "unavailable", refused
            _public()
            # All or nothing: a refused order reserves no unit of any SKU.
            assert dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock")) == before
            seen("out of stock")
            return
        _public()
        self.orders.append(Placed(shop=shop, number=order.number, payment_id=payment.pk))
        seen("order placed")
        if creator or platform:
            seen("order with coupons")

    @staticmethod
    def _coupons_apply(order: Order, creator: int, platform: int) -> None:
        """Put coupon shares on the lines of a new order, as checkout's pricing stores them.

        A stand-in for the coupon pricing (storefront/pricing.py, tested on its own): this
        machine is about the money after the sale, and draws the shares that stress it most,
        a creator coupon up to her whole commission and a platform coupon up to the whole
        line, on every line at once.
        """
        if not (creator or platform):
            return
        lines = list(order.lines.order_by("id"))
        caps = creator_discount_cap_fen(capture_lines(lines))
        off = 0
        for i, (line, cap) in enumerate(zip(lines, caps, strict=True)):
            mine = (0, cap // 3, cap // 2, cap)[creator]
            room = line.amount_fen - mine
            theirs = max(0, (0, room * 3 // 7, room - (1 if i == 0 else 0))[platform])
            OrderLine.objects.filter(pk=line.pk).update(
                creator_discount_fen=mine, platform_discount_fen=theirs
            )
            off += mine + theirs
        Order.objects.filter(pk=order.pk).update(
            goods_fen=order.goods_fen - off, total_fen=order.total_fen - off
        )
        order.refresh_from_db()

    @precondition(lambda self: self.can_pay())
    @rule(pick=picks, mark=st.sampled_from(["none", "once", "twice", "twice"]))
    def pay(self, pick: int, mark: str) -> None:
        """The buyer pays on the sandbox page; its signed notification arrives (twice, the
        second time as a repeat of the same id, a third as a new id for the same trade)."""
        pending = self._orders_in(Order.Status.PENDING_PAYMENT)
        pending = [o for o in pending if Payment.objects.get(pk=o.payment_id).status == "created"]
        if not pending:
            return
        self._pay(pending[pick % len(pending)], mark)

    def _pay(self, placed: Placed, mark: str) -> None:
        trade = SandboxTrade.objects.get(
            out_trade_no=Payment.objects.get(pk=placed.payment_id).out_trade_no
        )
        sandbox_trade_pay(trade=trade)
        nid = f"SBN-{placed.number}-{len(placed.notifications)}"
        placed.notifications.append(nid)
        assert self._notify(placed, nid) == 200
        assert self._notify(placed, nid) == 200
        assert Payment.objects.get(pk=placed.payment_id).status == Payment.Status.CAPTURED
        seen("captured")
        # The hook's task (order_mark_paid) may not have run yet: "none" leaves the order
        # pending with a captured payment, for the hook rule or the expiry sweep to find.
        for _ in range({"none": 0, "once": 1, "twice": 2}[mark]):
            self._mark_paid(placed)

    @precondition(lambda self: self.can_run_hook())
    @rule(pick=picks)
    def paid_hook_runs(self, pick: int) -> None:
        """The capture hook's task, late (and twice): order_mark_paid for a captured payment."""
        pending = [
            o
            for o in self._orders_in(Order.Status.PENDING_PAYMENT)
            if Payment.objects.get(pk=o.payment_id).status in CAPTURED
        ]
        if pending:
            placed = pending[pick % len(pending)]
            self._mark_paid(placed)
            self._mark_paid(placed)
            assert self._order_status(placed) == Order.Status.PAID
            seen("paid by the late hook")

    @precondition(lambda self: any(o.notifications for o in self.orders))
    @rule(pick=picks, fresh_id=st.booleans())
    def notification_again(self, pick: int, fresh_id: bool) -> None:
        """A provider retry of a notification already handled (same id, or a new id for the
        same trade), and the paid hook again: nothing changes."""
        done = [o for o in self.orders if o.notifications]
        if not done:
            return
        placed = done[pick % len(done)]
        nid = (
            f"SBN-{placed.number}-retry{len(placed.notifications)}"
            if fresh_id
            else placed.notifications[0]
        )
        placed.notifications.append(nid)
        assert self._notify(placed, nid) == 200
        if self._order_status(placed) == Order.Status.PAID:
            self._mark_paid(placed)

    @precondition(lambda self: self.can_expire())
    @rule(pick=picks, direct=st.booleans())
    def expire(self, pick: int, direct: bool) -> None:
        """The beat sweep after an order's deadline (or order_expire itself, twice)."""
        pending = self._orders_in(Order.Status.PENDING_PAYMENT)
        if not pending:
            return
        placed = pending[pick % len(pending)]
        tenant = self.world.shops[placed.shop]
        with tenant_context(tenant):
            order = Order.objects.get(number=placed.number)
            if direct:
                order_expire(order=order)
                order_expire(order=order)
            else:
                # Just past this order's deadline: it and the orders placed before it are
                # due, none placed after it (a whole second would depend on the run's speed).
                orders_expire_due(now=order.pay_deadline + timedelta(microseconds=1))
            status = Order.objects.get(number=placed.number).status
        _public()
        captured = Payment.objects.get(pk=placed.payment_id).status in CAPTURED
        # A payment captured in time wins over the deadline: the order is paid, not expired.
        assert status == (Order.Status.PAID if captured else Order.Status.EXPIRED)
        seen(f"expiry: {status}")

    @precondition(lambda self: self.can_pay_late())
    @rule(pick=picks)
    def pay_too_late(self, pick: int) -> None:
        """The buyer pays an order that already expired: refunded in full, never captured."""
        expired = [
            o
            for o in self._orders_in(Order.Status.EXPIRED)
            if not SandboxTrade.objects.filter(
                out_trade_no=Payment.objects.get(pk=o.payment_id).out_trade_no,
                status=SandboxTrade.Status.PAID,
            ).exists()
        ]
        if not expired:
            return
        placed = expired[pick % len(expired)]
        payment = Payment.objects.get(pk=placed.payment_id)
        sandbox_trade_pay(trade=SandboxTrade.objects.get(out_trade_no=payment.out_trade_no))
        nid = f"SBN-{placed.number}-late"
        placed.notifications.append(nid)
        self._notify(placed, nid)
        self._notify(placed, nid)
        payment.refresh_from_db()
        assert payment.status == Payment.Status.EXPIRED
        assert payment.refunded_amount == payment.amount
        assert self._order_status(placed) == Order.Status.EXPIRED
        seen("late payment refunded")

    @precondition(lambda self: self.can_pay())
    @rule(pick=picks)
    def late_payment_whole(self, pick: int) -> None:
        """An order expires and its buyer pays it afterwards, in one step (the separate expire
        and pay_too_late steps need their draws to line up: other rules took those draws)."""
        self.expire(pick, True)
        self.pay_too_late(pick)

    # --- fulfilment and returns -----------------------------------------------------------

    @precondition(lambda self: self.has_so(S.TO_SHIP))
    @rule(pick=picks, every=st.booleans())
    def ship(self, pick: int, every: bool) -> None:
        """One supplier order shipped (or EVERY one waiting), each form sent twice."""
        todo = list(self._sos().filter(status=S.TO_SHIP))
        for so in todo if every else [todo[pick % len(todo)]]:
            tracking = f"SF{next(_tracking)}"
            for _ in range(2):  # a double-clicked form
                supplier_order_ship(
                    supplier_order=so,
                    supplier=so.supplier,
                    carrier="顺丰速运",
                    tracking_number=tracking,
                )
            seen("shipped")
            # As if shipped well before: delivery may be dated anywhere in the last 11 days.
            SupplierOrder.objects.filter(pk=so.pk).update(
                shipped_at=timezone.now() - timedelta(days=12)
            )

    @precondition(lambda self: self.has_so(S.SHIPPED))
    @rule(pick=picks, days_ago=st.integers(min_value=0, max_value=10), every=st.booleans())
    def deliver(self, pick: int, days_ago: int, every: bool) -> None:
        """Delivered DAYS_AGO days (and an hour) ago: the return window is open or closed."""
        shipped = list(self._sos().filter(status=S.SHIPPED))
        at = timezone.now() - timedelta(days=days_ago, hours=1)
        for so in shipped if every else [shipped[pick % len(shipped)]]:
            supplier_order_deliver(supplier_order=so, supplier=so.supplier, delivered_at=at)
            supplier_order_deliver(supplier_order=so, supplier=so.supplier, delivered_at=at)
            seen("delivered")

    @precondition(lambda self: self.has_so(S.DELIVERED))
    @rule(
        pick=picks,
        amounts=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),
        override=st.sampled_from([False, False, False, True]),
        wild=st.sampled_from([False, False, False, True]),
        received=st.booleans(),
    )
    def open_return(
        self, pick: int, amounts: list[int], override: bool, wild: bool, received: bool
    ) -> None:
        """The buyer asks to return some units of one supplier's parcel (OVERRIDE: staff lift
        the window, e.g. a defect found after settlement). Usually for units she may still
        return; WILD also asks for excepted goods and more units than are left. Refused
        requests must change nothing. RECEIVED: the goods reach the supplier at once."""
        delivered = list(self._sos().filter(status=S.DELIVERED))
        so = delivered[pick % len(delivered)]
        lines = list(SupplierOrderLine.objects.filter(supplier_order=so).order_by("pk"))
        if not wild:
            lines = [x for x in lines if x.remaining_quantity and (x.return_days or override)]
            amounts = [min(k, x.remaining_quantity) for x, k in zip(lines, amounts, strict=False)]
        items = [(line.line_ref, k) for line, k in zip(lines, amounts, strict=False)]
        if not items:
            return
        before = list(
            SupplierOrderLine.objects.filter(supplier_order=so).values_list(
                "returned_quantity", flat=True
            )
        )
        cases = ReturnCase.objects.filter(supplier_order=so).count()
        try:
            case = return_open(
                tenant=so.tenant,
                order_number=so.order_number,
                items=items,
                now=self.clock,
                override_window=override,
            )
        except ValidationError:
            after = list(
                SupplierOrderLine.objects.filter(supplier_order=so).values_list(
                    "returned_quantity", flat=True
                )
            )
            assert after == before and ReturnCase.objects.filter(supplier_order=so).count() == cases
            seen("return refused")
            return
        seen("return opened" + (" by staff" if override else ""))
        if not override:
            for line, _k in zip(lines, amounts, strict=False):
                # Only inside the window, and never for goods the law excepts.
                assert line.return_days > 0
                assert self.clock <= so.delivered_at + timedelta(days=line.return_days)
        if received:
            self._receive(case)

    @precondition(
        lambda self: (
            self._sos()
            .filter(status=S.DELIVERED, settled_at__isnull=False, lines__returned_quantity=0)
            .exists()
        )
    )
    @rule(pick=picks, amounts=st.lists(st.integers(min_value=1, max_value=3), max_size=3))
    def defect_after_settlement(self, pick: int, amounts: list[int]) -> None:
        """A defect found after the parcel was settled: staff lift the window and the goods go
        back at once, so the creator's and the supplier's balances are clawed back. (open_return
        gets there only when its draws line up; this reaches it in every run.)"""
        delivered = list(self._sos().filter(status=S.DELIVERED).order_by("pk"))
        settled = [i for i, so in enumerate(delivered) if so.settled_at is not None]
        self.open_return(
            pick=settled[pick % len(settled)],
            amounts=amounts or [1],
            override=True,
            wild=False,
            received=True,
        )

    def _returnable(self) -> list[int]:
        """Indexes (in open_return's order) of delivered, unsettled parcels with a unit the
        buyer may still return without staff."""
        delivered = list(self._sos().filter(status=S.DELIVERED).order_by("pk"))
        return [
            i
            for i, so in enumerate(delivered)
            if so.settled_at is None
            and any(
                line.remaining_quantity
                and line.return_days
                and self.clock <= so.delivered_at + timedelta(days=line.return_days)
                for line in SupplierOrderLine.objects.filter(supplier_order=so)
            )
        ]

    @precondition(lambda self: bool(self._returnable()))
    @rule(pick=picks)
    def return_in_window(self, pick: int) -> None:
        """A reason-free return of one unit, inside the window, received at once: with the
        group buy rules open_return's draws rarely line up for it inside one example."""
        returnable = self._returnable()
        self.open_return(
            pick=returnable[pick % len(returnable)],
            amounts=[1, 1, 1],
            override=False,
            wild=False,
            received=True,
        )

    @precondition(
        lambda self: ReturnCase.objects.filter(
            supplier_order__in=self._sos(), status=R.REQUESTED
        ).exists()
    )
    @rule(pick=picks, cancel=st.sampled_from([False, False, False, True]))
    def receive_return(self, pick: int, cancel: bool) -> None:
        """The supplier confirms receipt (twice): refund, restock, reversal. Or the buyer
        cancels before sending."""
        open_cases = list(
            ReturnCase.objects.filter(supplier_order__in=self._sos(), status=R.REQUESTED).order_by(
                "pk"
            )
        )
        if not open_cases:
            return
        case = open_cases[pick % len(open_cases)]
        if cancel:
            return_cancel(case=case)
            return_cancel(case=case)
            return
        self._receive(case)

    def _receive(self, case: ReturnCase) -> None:
        so = SupplierOrder.objects.get(pk=case.supplier_order_id)
        settled = so.settled_at is not None
        return_receive(case=case, supplier=so.supplier)
        again = return_receive(case=ReturnCase.objects.get(pk=case.pk), supplier=so.supplier)
        assert again.status == R.REFUNDED
        seen("return refunded" + (" after settlement" if settled else ""))
        if any(o.group and o.number == so.order_number for o in self.orders):
            seen("group buy order returned")
        if any(cl.creator_discount_fen or cl.platform_discount_fen for cl in again.lines.all()):
            seen("couponed return refunded")
        if settled:
            self.clawed |= {("creator", so.tenant_id), ("supplier", so.supplier_id)}

    # --- settlement and payouts -----------------------------------------------------------

    @rule(days=st.integers(min_value=1, max_value=8))
    def advance_clock(self, days: int) -> None:
        self.clock += timedelta(days=days)

    @precondition(
        lambda self: self._sos().filter(status=S.DELIVERED, settled_at__isnull=True).exists()
    )
    @rule(days=st.integers(min_value=0, max_value=8))
    def days_pass_then_settle(self, days: int) -> None:
        """The daily beat job, DAYS days later (0: the same day again)."""
        self.clock += timedelta(days=days)
        self._settle()

    def _settle(self) -> None:
        if settlement_run(now=self.clock):
            seen("settled")
        assert settlement_run(now=self.clock) == 0  # the beat fired twice: nothing more
        for so in self._sos().filter(status=S.DELIVERED, settled_at__isnull=True):
            # Left unsettled only while a window is open or a return is in progress.
            assert (
                so.returns_close_at > self.clock
                or so.return_cases.filter(status__in=ReturnCase.OPEN).exists()
            )

    @precondition(lambda self: self._sos().filter(settled_at__isnull=False).exists())
    @rule(
        kind=st.sampled_from([BeneficiaryKind.CREATOR, BeneficiaryKind.SUPPLIER]),
        minimum=st.sampled_from([1, 5000, 20000]),
    )
    def payout_batch(self, kind: str, minimum: int) -> None:
        w = self.world
        only = (
            [t.pk for t in w.shops.values()]
            if kind == BeneficiaryKind.CREATOR
            else [s.pk for s in w.suppliers]
        )
        try:
            batch = payouts.payout_batch_create(
                kind=kind, minimum_fen=minimum, created_by=w.staff[0], only=only
            )
        except ValidationError:
            return
        self.batches.append(batch.pk)
        seen(f"payout batch of {batch.payout_count}")
        for payout in batch.payouts.all():
            assert payout.amount_fen >= minimum
            assert payouts._available_owed(payout) == payout.amount_fen

    @precondition(
        lambda self: PayoutBatch.objects.filter(
            pk__in=self.batches, status="awaiting_approval"
        ).exists()
    )
    @rule(
        pick=picks,
        cancel=st.sampled_from([False, False, False, True]),
        run_now=st.sampled_from([True, False, False]),
    )
    def payout_approve(self, pick: int, cancel: bool, run_now: bool) -> None:
        """Staff approve a batch (or cancel it). RUN_NOW: the payout tasks the last approval
        queues run at once, as a worker would; otherwise later, in payout_run."""
        waiting = list(
            PayoutBatch.objects.filter(pk__in=self.batches, status="awaiting_approval").order_by(
                "pk"
            )
        )
        if not waiting:
            return
        batch = waiting[pick % len(waiting)]
        first, second = self.world.staff
        if cancel:
            payouts.payout_batch_cancel(batch=batch, user=first)
            return
        result = payouts.payout_batch_approve(batch=batch, user=first, confirmed=True)
        if not result.executing:
            try:  # the same person twice is refused: two different people above the limit
                payouts.payout_batch_approve(batch=batch, user=first, confirmed=True)
            except ValidationError:
                pass
            else:
                raise AssertionError("one staff member approved a dual-approval batch twice")
            result = payouts.payout_batch_approve(batch=batch, user=second, confirmed=True)
        assert result.executing
        seen(f"batch approved by {result.approvals}")
        if run_now:
            queued = Payout.objects.filter(batch=batch, status=Payout.Status.QUEUED)
            self._payouts_run(list(queued.order_by("pk")), crash=False)

    @precondition(lambda self: self._sos().filter(settled_at__isnull=False).exists())
    @rule(kind=st.sampled_from([BeneficiaryKind.CREATOR, BeneficiaryKind.SUPPLIER]))
    def payout_whole(self, kind: str) -> None:
        """A payout from batch to paid in one step: with the group buy rules the separate
        batch → approve → run steps rarely line up inside one example, so the paid path would
        go unchecked. The same services as the separate rules, in the same order."""
        self.payout_batch(kind, 1)
        self.payout_approve(-1, False, True)  # the newest batch waiting

    @precondition(
        lambda self: Payout.objects.filter(
            batch_id__in=self.batches, status=Payout.Status.QUEUED
        ).exists()
    )
    @rule(pick=picks, crash=st.booleans())
    def payout_run(self, pick: int, crash: bool) -> None:
        """The payout tasks (their bodies), each run twice. CRASH: the first run dies right
        after the provider made the transfer, before recording it; the retry must find the
        transfer and record it, not pay again."""
        queued = list(
            Payout.objects.filter(batch_id__in=self.batches, status=Payout.Status.QUEUED).order_by(
                "pk"
            )
        )
        if not queued:
            return
        batch_id = queued[pick % len(queued)].batch_id
        self._payouts_run([p for p in queued if p.batch_id == batch_id], crash=crash)

    def _payouts_run(self, queued: list[Payout], *, crash: bool) -> None:
        for payout in queued:
            if crash:
                started, _resumed = payouts._payout_start(payout.pk)
                if started.status == Payout.Status.SENDING:
                    payout_provider(started.provider).transfer(
                        payout_no=started.payout_no,
                        amount_fen=started.amount_fen,
                        currency=started.currency,
                        beneficiary=payouts._beneficiary(started),
                    )
            payouts.payout_execute(payout_id=payout.pk)
            done = payouts.payout_execute(payout_id=payout.pk)
            assert done.status in (Payout.Status.PAID, Payout.Status.SKIPPED)
            seen(f"payout {done.status}" + (" after a crash" if crash else ""))
        for batch_id in {p.batch_id for p in queued}:
            assert PayoutBatch.objects.get(pk=batch_id).status == PayoutBatch.Status.DONE

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def check_entries_balance(self) -> None:
        # Fire the deferred triggers now: each entry must sum to zero, have two postings.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert balances_recompute_check() == []
        unbalanced = (
            Posting.objects.filter(entry_id__gt=self.entry0)
            .values("entry_id")
            .annotate(total=Sum("amount"))
            .exclude(total=0)
        )
        assert not unbalanced.exists()

    @invariant()
    def check_balances_and_signs(self) -> None:
        w = self.world
        expected: dict[AccountRef, int] = defaultdict(int)  # change in balance (debit +)
        revenue, clearing = AccountRef.platform_revenue(), AccountRef.clearing("sandbox")
        marketing = AccountRef.platform_marketing()
        sos = list(self._sos().prefetch_related("lines", "return_cases__lines"))
        for so in sos:
            refunded = [c for c in so.return_cases.all() if c.status == R.REFUNDED]
            lines = list(so.lines.all())
            commission = sum(x.commission_fen for x in lines) - sum(
                cl.commission_fen for c in refunded for cl in c.lines.all()
            )
            supply = (
                sum(x.supply_price_fen * x.quantity + x.shipping_fen for x in lines)
                - sum(cl.supply_fen for c in refunded for cl in c.lines.all())
                - sum(c.shipping_refund_fen for c in refunded)
            )
            fee = sum(x.fee_fen for x in lines) - sum(
                cl.fee_fen for c in refunded for cl in c.lines.all()
            )
            coupons = sum(x.platform_discount_fen for x in lines) - sum(
                cl.platform_discount_fen for c in refunded for cl in c.lines.all()
            )
            assert commission >= 0 and supply >= 0 and fee >= 0 and coupons >= 0
            # An expense: debited by the capture, credited back by returns.
            expected[marketing] += coupons
            if so.settled_at is None:
                expected[AccountRef.commission_pending(so.tenant_id)] -= commission
                expected[AccountRef.supplier_payable(so.supplier_id)] -= supply
            else:
                expected[AccountRef.commission_available(so.tenant_id)] -= commission
                expected[AccountRef.supplier_available(so.supplier_id)] -= supply
            expected[revenue] -= fee
        for placed in self.orders:
            payment = Payment.objects.get(pk=placed.payment_id)
            # Booked by order_mark_paid (the capture hook's task): a payment captured at the
            # provider whose hook has not run yet is not in the books yet.
            if payment.status in CAPTURED and payment.supplier_orders.exists():
                expected[clearing] += payment.amount - payment.refunded_amount
        # A group buy's paid orders before their group succeeded: booked at capture as the
        # order's lines stand (the price she paid), with no supplier order yet.
        for shop, numbers in self.gb_held_orders().items():
            with tenant_context(w.shops[shop]):
                paid = Order.objects.filter(number__in=numbers, status=Order.Status.PAID)
                held = [(o.number, list(o.lines.order_by("id"))) for o in paid]
            _public()
            for number, lines in held:
                payment = Payment.objects.get(
                    tenant=w.shops[shop], order_number=number, captured_at__isnull=False
                )
                expected[clearing] += payment.amount - payment.refunded_amount
                for line, split in zip(
                    lines, capture_split(lines=capture_lines(lines)), strict=True
                ):
                    expected[marketing] += split.platform_discount_fen
                    expected[AccountRef.commission_pending(w.shops[shop].pk)] -= (
                        split.commission_fen
                    )
                    expected[AccountRef.supplier_payable(line.supplier_id)] -= split.supply_fen
                    expected[revenue] -= split.fee_fen
        for payout in Payout.objects.filter(batch_id__in=self.batches, status=Payout.Status.PAID):
            ref = payouts.available_ref(kind=payout.kind, beneficiary_id=payout.beneficiary_id)
            expected[ref] += payout.amount_fen
            expected[clearing] -= payout.amount_fen
        for ref in self.refs:
            now = account_balance_for(ref=ref)
            assert now - self.base[ref] == expected[ref], (ref, now, self.base[ref], expected[ref])
            owed = -now
            if ref.kind in ("creator_commission_pending", "supplier_payable", "platform_revenue"):
                assert owed >= 0, (ref, owed)
            if ref.kind == "platform_marketing":
                assert now >= 0, (ref, now)
        for shop in w.shops.values():
            owed = -account_balance_for(ref=AccountRef.commission_available(shop.pk))
            assert owed >= 0 or ("creator", shop.pk) in self.clawed, (shop, owed)
        for sup in w.suppliers:
            owed = -account_balance_for(ref=AccountRef.supplier_available(sup.pk))
            assert owed >= 0 or ("supplier", sup.pk) in self.clawed, (sup, owed)
        if not self.clawed:
            # Buyers' money pays everyone; where the platform's coupons paid part of a price,
            # the platform funds that share (its marketing expense) on top of it.
            marketing = account_balance_for(ref=AccountRef.platform_marketing())
            assert account_balance_for(ref=clearing) + marketing >= 0

    @invariant()
    def check_stock(self) -> None:
        w = self.world
        held: dict[int, int] = defaultdict(int)
        for shop, tenant in w.shops.items():
            mine = [o.number for o in self.orders if o.shop == shop]
            with tenant_context(tenant):
                for order in Order.objects.filter(number__in=mine).prefetch_related("lines"):
                    if order.status in (Order.Status.PAID, Order.Status.PENDING_PAYMENT):
                        for line in order.lines.all():
                            held[line.sku_id] += line.quantity
                # A group buy's units nobody holds yet (given back to the SKU at its end).
                for sku, left in GroupBuy.objects.filter(
                    pk__in=[pk for s, pk in self.groups if s == shop]
                ).values_list("item__sku_id", "units_left"):
                    held[sku] += left
        _public()
        for case in ReturnCase.objects.filter(supplier_order__in=self._sos(), status=R.REFUNDED):
            for cl in case.lines.select_related("line"):
                held[cl.line.sku_id] -= cl.quantity
        now = dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock"))
        for sku in w.skus:
            assert now[sku] >= 0
            assert self.stock0[sku] == now[sku] + held[sku], (
                sku,
                self.stock0[sku],
                now[sku],
                held[sku],
            )

    @invariant()
    def check_nothing_paid_twice(self) -> None:
        w = self.world
        held = self.gb_held_orders()
        group_refunds = self.gb_refunds()
        for placed in self.orders:
            with tenant_context(w.shops[placed.shop]):
                order = Order.objects.get(number=placed.number)
                status = order.status
                suppliers = set(order.lines.values_list("supplier_id", flat=True))
            _public()
            payments = list(
                Payment.objects.filter(tenant=w.shops[placed.shop], order_number=placed.number)
            )
            captured = [p for p in payments if p.status in CAPTURED]
            assert len(captured) <= 1
            captures = JournalEntry.objects.filter(
                idempotency_key__in=[f"payment:{p.out_trade_no}:capture" for p in payments]
            )
            sos = SupplierOrder.objects.filter(
                tenant=w.shops[placed.shop], order_number=placed.number
            )
            if status == Order.Status.PAID:
                assert len(captured) == 1 and captures.count() == 1
                clearing = captures.get().postings.get(account__kind=AccountKind.PAYMENT_CLEARING)
                assert clearing.amount == captured[0].amount
                if placed.number in held[placed.shop]:
                    # A group buy's goods wait until the group succeeded.
                    assert placed.group is not None and not sos.exists()
                else:
                    # One supplier order per supplier of the order, made once.
                    assert sorted(sos.values_list("supplier_id", flat=True)) == sorted(suppliers)
            elif status == Order.Status.CANCELLED:
                # Only a group buy cancels a paid order: refunded in full, its capture reversed
                # by one entry, nothing shipped.
                assert placed.group is not None and len(captured) == 1
                assert captures.count() == 1 and not sos.exists()
                assert captured[0].refunded_amount == captured[0].amount
                reversals = JournalEntry.objects.filter(
                    payment=captured[0],
                    idempotency_key__startswith="groupbuy:",
                    idempotency_key__endswith=":reverse",
                )
                assert reversals.count() == 1
            else:
                assert captures.count() == 0 and not sos.exists()
                if status == Order.Status.EXPIRED:
                    assert not captured
            for payment in payments:
                refunds = Refund.objects.filter(payment=payment, status=Refund.Status.SUCCEEDED)
                total = refunds.aggregate(t=Sum("amount"))["t"] or 0
                assert total == payment.refunded_amount <= payment.amount
                trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
                assert trade.refunded_amount == payment.refunded_amount
                if payment.status in CAPTURED:
                    cases = ReturnCase.objects.filter(
                        supplier_order__payment=payment, status=R.REFUNDED
                    )
                    # Returns' refunds, and a group buy's (a price difference or all of it).
                    assert (cases.aggregate(t=Sum("refund_fen"))["t"] or 0) + group_refunds.get(
                        payment.pk, 0
                    ) == payment.refunded_amount
                elif payment.refunded_amount:  # a late payment: all of it back
                    assert payment.status == Payment.Status.EXPIRED
                    assert payment.refunded_amount == payment.amount
        for case in ReturnCase.objects.filter(supplier_order__in=self._sos()):
            reversals = JournalEntry.objects.filter(
                idempotency_key=f"return:{case.pk}:reverse"
            ).count()
            if case.status == R.REFUNDED:
                assert reversals == 1
                # Units a platform coupon paid for entirely refund nothing, with no refund.
                refunded = case.refund.amount if case.refund else 0
                assert refunded == case.refund_fen
            else:
                assert reversals == 0
        for so in self._sos():
            settles = JournalEntry.objects.filter(idempotency_key=f"settle:{so.pk}").count()
            assert settles <= 1 and (settles == 0 or so.settled_at is not None)
        for payout in Payout.objects.filter(batch_id__in=self.batches):
            transfers = list(SandboxTransfer.objects.filter(payout_no=payout.payout_no))
            entries = JournalEntry.objects.filter(idempotency_key=f"payout:{payout.pk}").count()
            if payout.status == Payout.Status.PAID:
                assert len(transfers) == 1 and transfers[0].amount_fen == payout.amount_fen
                assert entries == 1 and payout.journal_entry_id is not None
            else:
                assert payout.status != Payout.Status.SENDING
                assert not transfers and entries == 0

    @invariant()
    def check_suppliers_get_their_supply_price(self) -> None:
        """Rule 6: coupons never touch what a supplier is paid for its goods."""
        sos = list(self._sos().select_related("payment").prefetch_related("lines"))
        keys = {so.pk: f"payment:{so.payment.out_trade_no}:capture" for so in sos}
        credited = {
            (key, supplier): -amount
            for key, supplier, amount in Posting.objects.filter(
                entry__idempotency_key__in=set(keys.values()),
                account__kind=AccountKind.SUPPLIER_PAYABLE,
            ).values_list("entry__idempotency_key", "account__supplier_id", "amount")
        }
        for so in sos:
            owed = sum(x.supply_price_fen * x.quantity + x.shipping_fen for x in so.lines.all())
            assert credited[(keys[so.pk], so.supplier_id)] == owed, (so, owed)
        for supply, quantity, price in ReturnCaseLine.objects.filter(
            case__supplier_order__in=[so.pk for so in sos], case__status=R.REFUNDED
        ).values_list("supply_fen", "quantity", "line__supply_price_fen"):
            assert supply == price * quantity, (supply, quantity, price)

    @invariant()
    def check_creators_net_never_below_zero(self) -> None:
        """Rule 7: her own coupon may take her commission on a line to zero, never below."""
        sos = self._sos()
        back: dict[int, int] = defaultdict(int)
        for line_id, commission, creator, platform in ReturnCaseLine.objects.filter(
            case__supplier_order__in=sos, case__status=R.REFUNDED
        ).values_list("line_id", "commission_fen", "creator_discount_fen", "platform_discount_fen"):
            assert min(commission, creator, platform) >= 0
            back[line_id] += commission
        for pk, q, retail, supply, fee, commission, creator in SupplierOrderLine.objects.filter(
            supplier_order__in=sos
        ).values_list(
            "pk",
            "quantity",
            "retail_price_fen",
            "supply_price_fen",
            "fee_fen",
            "commission_fen",
            "creator_discount_fen",
        ):
            margin = (retail - supply) * q
            assert creator <= margin - fee and commission == margin - fee - creator, pk
            assert commission - back[pk] >= 0, (pk, commission, back[pk])
