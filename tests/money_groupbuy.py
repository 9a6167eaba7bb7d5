"""Group buys in the stateful money test (issue 14): the rules and invariants of tiered group
buys (团购拍), mixed into tests/money_machine.py's MoneyMachine.

A creator starts a tiered group buy on one of the world's listing items (its quantity leaves
the SKU's shared stock); buyers join through the campaign's signed ticket (order_place with the
claim, as tests/groupbuy_helpers.py join() does) and pay through the sandbox the way the
machine pays every other order (its `pay` rule, or at once); a paid member may cancel when the
terms allow; the deadline passes and groupbuy_close runs (sometimes twice). The joined orders
are the machine's orders like any other: once a group succeeded their supplier orders ship,
are returned and settled by the machine's other rules.

Invariants of group buys (checked after every step, `check_group_buys`), on top of the
machine's seven, which keep holding with group buys in the mix:

8. Units: while a campaign holds its stock, units left + the units of its live members (awaiting
   payment, paid, settled) == its quantity; once it gave its stock back, nothing is left in it.
   Its seats and paid count are its live and paid members.
9. Nothing ships before success: an order of a member not settled has no supplier order (the
   machine's rule 5 checks the other side: a settled member's order has one per supplier).
10. Outcome, once closed: succeeded → the paid members reached the minimum, the final price is
   the tier they reached (never above the lowest price one of them paid), and every member
   paid exactly the final price: her payment less its group refund == her order's total at
   the final price, the refund == (her price − final) × units, her order's lines and her
   supplier orders are at the final price, with the fee and commission of the final price.
   Failed → fewer paid members than the minimum, each refunded in full, her order cancelled,
   everything booked for her payment reversed (every account nets to zero). A member who
   cancelled is refunded in full the same way. Closed → no member awaits payment or is paid
   but unsettled, and the campaign's stock went back.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from billing.fulfilment.models import SupplierOrder, SupplierOrderLine
from billing.ledger import CaptureLine, capture_split
from billing.models import JournalEntry, Payment, Posting, Refund
from catalog.models import SKU
from storefront.groupbuy.models import GroupBuy, GroupMember
from storefront.groupbuy.services import (
    Terms,
    claim_from_ticket,
    groupbuy_close,
    groupbuy_create,
    member_cancel,
    ticket_make,
)
from storefront.models import ListingItem, Order
from storefront.orders.services import Want, order_payment_start, order_place

from .groupbuy_helpers import buyer_new

if TYPE_CHECKING:
    from .money_machine import Placed

GS = GroupBuy.Status
MS = GroupMember.Status

# Price drops from the list price (fen), each tier needing one more buyer; kept inside the
# supplier's lower bound (catalog.testing.terms(): ¥60). Shop B lists at ¥60.01: one fen of room.
tier_drops = st.lists(st.sampled_from([1, 900, 1500, 2799]), min_size=1, max_size=2)
MAX_GROUPS = 2  # campaigns an example starts
MAX_JOINS = 6  # group buy orders an example places


def _public() -> None:
    connection.set_schema_to_public()


def tiers_for(list_price: int, low: int, drops: list[int]) -> list[list[int]]:
    """[[1, list price], [2, lower], [3, lower still]]: strictly falling, never below LOW."""
    tiers = [[1, list_price]]
    for drop in drops:
        price = max(low, tiers[-1][1] - drop)
        if price < tiers[-1][1]:
            tiers.append([len(tiers) + 1, price])
    return tiers


def tier_reached(tiers: list[list[int]], buyers: int) -> int:
    """The rule as buyers read it: the price of the highest tier whose threshold is met."""
    return min([p for b, p in tiers if b <= buyers] or [tiers[0][1]])


class GroupBuyRules:
    """Mixed into MoneyMachine (which provides world, orders, _pay, seen's labels...)."""

    world: Any
    orders: list[Placed]
    groups: list[tuple[str, int]]  # (shop, GroupBuy pk) this example started

    def _pay(self, placed: Placed, mark: str) -> None:  # MoneyMachine's
        raise NotImplementedError

    def seen(self, label: str) -> None:  # MoneyMachine's: records a label the run reached
        raise NotImplementedError

    # --- what the rules act on ----------------------------------------------------------

    def _campaigns(self, *statuses: str) -> list[tuple[str, GroupBuy]]:
        found = []
        for shop, pk in self.groups:
            with tenant_context(self.world.shops[shop]):
                campaign = GroupBuy.objects.get(pk=pk)
            if not statuses or campaign.status in statuses:
                found.append((shop, campaign))
        _public()
        return found

    def _members(self, shop: str, campaign_id: int) -> list[GroupMember]:
        with tenant_context(self.world.shops[shop]):
            members = list(
                GroupMember.objects.filter(campaign_id=campaign_id).select_related("order")
            )
        _public()
        return members

    def gb_can_start(self) -> bool:
        return len(self.groups) < MAX_GROUPS

    def gb_can_join(self) -> bool:
        joins = sum(1 for o in self.orders if o.group is not None)
        return joins < MAX_JOINS and bool(self.groups) and bool(self._campaigns(GS.OPEN))

    def gb_can_cancel(self) -> bool:
        return any(
            c.allow_cancel and any(m.status == MS.PAID for m in self._members(shop, c.pk))
            for shop, c in self._campaigns(GS.OPEN)
        )

    def gb_can_close(self) -> bool:
        return bool(self.groups) and bool(self._campaigns(GS.OPEN))

    # --- rules ------------------------------------------------------------------------------

    @precondition(lambda self: self.gb_can_start())
    @rule(
        shop=st.sampled_from(["a", "b"]),
        product=st.integers(min_value=0, max_value=2),
        drops=tier_drops,
        min_buyers=st.sampled_from([1, 2, 2, 3]),
        quantity=st.integers(min_value=2, max_value=5),
        limit=st.sampled_from([1, 1, 2]),
        allow_cancel=st.booleans(),
    )
    def groupbuy_start(
        self,
        shop: str,
        product: int,
        drops: list[int],
        min_buyers: int,
        quantity: int,
        limit: int,
        allow_cancel: bool,
    ) -> None:
        """The creator starts a tiered group buy on one of her listing items."""
        w = self.world
        before = dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock"))
        with tenant_context(w.shops[shop]):
            item = ListingItem.objects.select_related("sku").get(pk=w.items[shop][product])
            tiers = tiers_for(item.retail_price_fen, item.sku.min_retail_fen, drops)
            try:
                campaign = groupbuy_create(
                    kind=GroupBuy.Kind.TIERED,
                    item=item,
                    terms=Terms(
                        title="一起买更便宜",
                        tiers=tiers,
                        ends_at=timezone.now() + timedelta(hours=5),
                        quantity=quantity,
                        min_buyers=min_buyers,
                        per_fan_limit=limit,
                        allow_cancel=allow_cancel,
                    ),
                )
            except ValidationError as refused:
                # Not enough stock left, or this item's group buy is still running: nothing taken.
                assert refused.code in ("stock", "already_running"), refused
                campaign = None
        _public()
        now = dict(SKU.objects.filter(pk__in=w.skus).values_list("pk", "stock"))
        if campaign is None:
            assert now == before
            self.seen("group buy refused")
            return
        sku = w.skus[product]
        assert now[sku] == before[sku] - quantity
        self.groups.append((shop, campaign.pk))
        self.seen("group buy started")

    @precondition(lambda self: self.gb_can_join())
    @rule(
        pick=st.integers(min_value=0, max_value=10_000),
        quantity=st.sampled_from([1, 1, 2]),
        mark=st.sampled_from(["later", "none", "once", "twice", "twice"]),
    )
    def groupbuy_join(self, pick: int, quantity: int, mark: str) -> None:
        """A new buyer checks out through the campaign's ticket at the tier of joining now, then
        pays at once (MARK as in the machine's pay rule) or LATER (the pay rule, or expiry)."""
        open_ = self._campaigns(GS.OPEN)
        if not open_:
            return
        shop, campaign = open_[pick % len(open_)]
        from .money_machine import Placed

        with tenant_context(self.world.shops[shop]):
            try:
                ticket = ticket_make(campaign=campaign, quantity=quantity)
                claim = claim_from_ticket(ticket=ticket, fan=None)
                order = order_place(
                    wants=[Want(claim.item_id, claim.quantity)],
                    buyer=buyer_new(),
                    campaign=claim,
                )
            except ValidationError as refused:
                # More units than the limit per buyer, or than are left in the campaign.
                assert refused.code == "campaign_closed", refused
                after = GroupBuy.objects.get(pk=campaign.pk)
                assert (after.units_left, after.seats) == (campaign.units_left, campaign.seats)
                refused_ = True
            else:
                refused_ = False
                payment = order_payment_start(order=order, provider="sandbox", return_url="")
                assert order.lines.get().retail_price_fen == tier_reached(
                    campaign.tiers, campaign.paid_count + 1
                )
        _public()
        if refused_:
            self.seen("group buy join refused")
            return
        placed = Placed(shop=shop, number=order.number, payment_id=payment.pk, group=campaign.pk)
        self.orders.append(placed)
        self.seen("group buy joined")
        if mark != "later":
            self._pay(placed, mark)

    @precondition(lambda self: self.gb_can_cancel())
    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def groupbuy_cancel(self, pick: int) -> None:
        """A paid member leaves a group buy whose terms allow it (twice: the second changes
        nothing): refunded in full, her units back to the campaign."""
        paid = [
            (shop, m)
            for shop, c in self._campaigns(GS.OPEN)
            if c.allow_cancel
            for m in self._members(shop, c.pk)
            if m.status == MS.PAID
        ]
        if not paid:
            return
        shop, member = paid[pick % len(paid)]
        with tenant_context(self.world.shops[shop]):
            member_cancel(order=member.order)
            again = member_cancel(order=Order.objects.get(pk=member.order_id))
            assert again.status == MS.REFUNDED and again.cancelled
            assert Order.objects.get(pk=member.order_id).status == Order.Status.CANCELLED
        _public()
        self.seen("group buy member cancelled")

    @precondition(lambda self: self.gb_can_close())
    @rule(pick=st.integers(min_value=0, max_value=10_000), twice=st.booleans())
    def groupbuy_deadline(self, pick: int, twice: bool) -> None:
        """The deadline passes and the closing task runs (TWICE: again, as the beat may): the
        final tier is fixed, differences or everything refunded, the stock given back."""
        open_ = self._campaigns(GS.OPEN)
        if not open_:
            return
        shop, campaign = open_[pick % len(open_)]
        with tenant_context(self.world.shops[shop]):
            GroupBuy.objects.filter(pk=campaign.pk).update(
                ends_at=timezone.now() - timedelta(seconds=1)
            )
            closed = groupbuy_close(campaign_id=campaign.pk)
        _public()
        assert closed.status in (GS.SUCCEEDED, GS.FAILED), closed.status
        assert closed.stock_returned and closed.units_left == 0
        if twice:
            entries = JournalEntry.objects.count()
            refunds = Refund.objects.count()
            stock = dict(SKU.objects.filter(pk__in=self.world.skus).values_list("pk", "stock"))
            sos = SupplierOrder.objects.count()
            with tenant_context(self.world.shops[shop]):
                again = groupbuy_close(campaign_id=campaign.pk)
            _public()
            assert again.status == closed.status
            assert JournalEntry.objects.count() == entries and Refund.objects.count() == refunds
            assert SupplierOrder.objects.count() == sos
            assert (
                dict(SKU.objects.filter(pk__in=self.world.skus).values_list("pk", "stock")) == stock
            )
            self.seen("group buy closed twice")
        members = self._members(shop, campaign.pk)
        if closed.status == GS.SUCCEEDED:
            diffs = [m for m in members if m.status == MS.SETTLED and m.refund_fen]
            self.seen("group buy succeeded" if diffs else "group buy succeeded at one price")
        else:
            full = [m for m in members if m.status == MS.REFUNDED and not m.cancelled]
            self.seen("group buy failed" if full else "group buy failed with nobody paid")

    @precondition(lambda self: self.gb_can_start())
    @rule(
        shop=st.sampled_from(["a", "b"]),
        product=st.integers(min_value=0, max_value=2),
        drops=tier_drops,
        min_buyers=st.sampled_from([1, 2, 3]),
        joins=st.integers(min_value=1, max_value=3),
        allow_cancel=st.booleans(),
    )
    def groupbuy_whole(
        self,
        shop: str,
        product: int,
        drops: list[int],
        min_buyers: int,
        joins: int,
        allow_cancel: bool,
    ) -> None:
        """A group buy from start to close in one step: JOINS buyers join one after another
        and pay at once, then the deadline passes. The single rules above reach its end only
        when the draws happen to line up; this one reaches both outcomes (a tier crossed and
        the differences refunded; the minimum missed and everyone refunded) in every run."""
        started = len(self.groups)
        self.groupbuy_start(
            shop=shop,
            product=product,
            drops=drops,
            min_buyers=min_buyers,
            quantity=joins + 1,
            limit=1,
            allow_cancel=allow_cancel,
        )
        if len(self.groups) == started:
            return  # refused (no stock, or this item's group buy is running)
        mine = self.groups[-1]
        for _ in range(joins):
            open_ = [(s, c.pk) for s, c in self._campaigns(GS.OPEN)]
            self.groupbuy_join(pick=open_.index(mine), quantity=1, mark="once")
        open_ = [(s, c.pk) for s, c in self._campaigns(GS.OPEN)]
        self.groupbuy_deadline(pick=open_.index(mine), twice=False)

    # --- invariants -----------------------------------------------------------------------

    def gb_held_orders(self) -> dict[str, set[str]]:
        """Per shop: the numbers of paid group orders whose goods are held (not settled)."""
        held: dict[str, set[str]] = defaultdict(set)
        for shop, pk in self.groups:
            with tenant_context(self.world.shops[shop]):
                held[shop] |= set(
                    GroupMember.objects.filter(campaign_id=pk, fulfilled=False).values_list(
                        "order__number", flat=True
                    )
                )
        _public()
        return held

    def gb_refunds(self) -> dict[int, int]:
        """Payment pk → what group buys refunded of it (differences and full refunds)."""
        out: dict[int, int] = {}
        by_number = {(o.shop, o.number): o.payment_id for o in self.orders if o.group}
        for shop, pk in self.groups:
            with tenant_context(self.world.shops[shop]):
                rows = GroupMember.objects.filter(
                    campaign_id=pk, status__in=(MS.SETTLED, MS.REFUNDED)
                ).values_list("order__number", "refund_fen")
                for number, refund in rows:
                    out[by_number[(shop, number)]] = refund or 0
        _public()
        return out

    @invariant()
    def check_group_buys(self) -> None:
        for shop, campaign in self._campaigns():
            members = self._members(shop, campaign.pk)
            live = [m for m in members if m.status in (MS.PENDING, MS.PAID, MS.SETTLED)]
            # 8. Units and counters.
            if campaign.stock_returned:
                assert campaign.units_left == 0
            else:
                assert campaign.units_left + sum(m.quantity for m in live) == campaign.quantity
            assert campaign.seats == len(live), (campaign.seats, len(live))
            assert campaign.paid_count == sum(m.status in (MS.PAID, MS.SETTLED) for m in members)
            for m in members:
                # 9. Nothing ships before success.
                shipped = SupplierOrder.objects.filter(
                    tenant=self.world.shops[shop], order_number=m.order.number
                ).exists()
                assert shipped == (m.status == MS.SETTLED and m.fulfilled), (m, shipped)
                if m.status == MS.REFUNDED:
                    self._gb_check_refunded_in_full(shop, m)
            if campaign.status == GS.OPEN:
                assert not any(m.status == MS.SETTLED for m in members)
                assert all(m.cancelled for m in members if m.status == MS.REFUNDED)
                continue
            # 10. Closed: everyone settled one way or the other, the stock back.
            assert campaign.status in (GS.SUCCEEDED, GS.FAILED), campaign.status
            assert campaign.stock_returned
            assert not any(m.status in (MS.PENDING, MS.PAID) for m in members)
            stayed = [
                m for m in members if m.status in (MS.SETTLED, MS.REFUNDED) and not m.cancelled
            ]
            if campaign.status == GS.FAILED:
                assert len(stayed) < campaign.min_buyers or not stayed
                assert all(m.status == MS.REFUNDED for m in stayed)
                continue
            assert len(stayed) >= campaign.min_buyers and stayed
            assert all(m.status == MS.SETTLED for m in stayed)
            final = min(
                tier_reached(campaign.tiers, len(stayed)), min(m.unit_price_fen for m in stayed)
            )
            assert campaign.final_price_fen == final, (campaign.final_price_fen, final)
            for m in stayed:
                self._gb_check_settled(shop, m, final)

    def _gb_check_refunded_in_full(self, shop: str, member: GroupMember) -> None:
        payment = Payment.objects.get(
            tenant=self.world.shops[shop],
            order_number=member.order.number,
            captured_at__isnull=False,
        )
        assert payment.refunded_amount == payment.amount == member.refund_fen
        assert payment.status == Payment.Status.REFUNDED
        assert member.order.status == Order.Status.CANCELLED
        nets = (
            Posting.objects.filter(entry__payment=payment)
            .values("account")
            .annotate(t=Sum("amount"))
        )
        assert all(row["t"] == 0 for row in nets), list(nets)

    def _gb_check_settled(self, shop: str, member: GroupMember, final: int) -> None:
        assert member.final_price_fen == final and member.fulfilled
        assert member.refund_fen == (member.unit_price_fen - final) * member.quantity
        with tenant_context(self.world.shops[shop]):
            order = Order.objects.get(pk=member.order_id)
            lines = list(order.lines.all())
        _public()
        assert [line.retail_price_fen for line in lines] == [final]
        payment = Payment.objects.get(
            tenant=self.world.shops[shop], order_number=order.number, captured_at__isnull=False
        )
        # Her refunds beyond this one (returns) are checked by the machine's rule 5.
        assert payment.amount - member.refund_fen == order.total_fen, (payment, order.total_fen)
        for so_line in SupplierOrderLine.objects.filter(
            supplier_order__payment=payment
        ).select_related("supplier_order"):
            assert so_line.retail_price_fen == final
            split = capture_split(
                lines=[
                    CaptureLine(
                        supplier_id=so_line.supplier_order.supplier_id,
                        quantity=so_line.quantity,
                        supply_price_fen=so_line.supply_price_fen,
                        retail_price_fen=final,
                        shipping_fen=so_line.shipping_fen,
                    )
                ]
            )[0]
            assert (so_line.fee_fen, so_line.commission_fen) == (
                split.fee_fen,
                split.commission_fen,
            )
