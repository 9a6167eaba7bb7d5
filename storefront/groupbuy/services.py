"""Group buys' writes: create and change a campaign, join (through checkout), cancel, close.

The rules (DESIGN.md, "Social-commerce campaigns"; shown to buyers by rules.html):

* Tiered (团购拍): a buyer pays the price of the tier reached with her counted (paid buyers + 1).
  At the deadline the final price is the tier the paid buyers reached, and never above the
  lowest price a remaining buyer paid (a cancellation cannot make anyone pay more). Below the
  minimum every buyer is refunded in full and the units go back to the SKU.
* Fixed (拼团): a buyer opens a group of N at the group price; friends join through its link.
  N paid members → the group succeeded; its lifetime over first → everyone refunded in full.
  A seat is held by an unpaid order until its pay deadline, so the last seat goes to one buyer.
* Nothing ships before the group succeeded (kind.holds_fulfilment); then each member is
  settled: the difference refunded (billing.adjustments, a key per member and attempt), the
  ledger moved to the final price, the order's line repriced, the supplier orders made.

Locks, always in this order: the order's row, the campaign's, the team's, the member's.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.adjustments import adjustment_post, adjustment_refund, reversal_post
from billing.ledger import CaptureLine, creator_discount_cap_fen
from billing.models import Payment, Refund
from billing.payments.base import ProviderError
from billing.services import PaymentError
from core.money import yuan
from core.shop import current_schema, current_shop_id
from core.shop_cache import bump
from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.rules import (
    campaign_price_check,
    campaign_stock_return,
    campaign_stock_take,
)
from storefront.models import Fan, ListingItem, Order, OrderLine
from storefront.shopapi.events import campaign_closed_emit

from .models import GroupBuy, GroupMember, GroupTeam

logger = logging.getLogger(__name__)

KIND = "group"
TICKET_SALT = "storefront.groupbuy.ticket"
TICKET_MAX_AGE = 2 * 3600  # a checkout link from the campaign page is good for two hours
TIERS_MAX = 5
BUYERS_MAX = 1_000_000
# A close of thousands of buyers settles them in this many threads (bench/group_buy.py).
CLOSE_THREADS = 4
TEAM_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# --- tiers ----------------------------------------------------------------------------------


def tier_price(tiers: Sequence[tuple[int, int]], buyers: int) -> int:
    """The price of the tier reached with BUYERS buyers (the first tier when fewer)."""
    price = tiers[0][1]
    for threshold, tier in tiers:
        if buyers >= threshold:
            price = tier
    return price


def tier_next(tiers: Sequence[tuple[int, int]], buyers: int) -> tuple[int, int] | None:
    """(buyers still needed, price) of the next tier above BUYERS; None at the last. The
    opening tier (from 1 buyer) is never "next": with nobody in yet, the next is the first drop."""
    for threshold, price in tiers:
        if threshold > max(buyers, 1):
            return threshold - buyers, price
    return None


def _tiers_clean(tiers: Sequence[Sequence[int]], item: ListingItem) -> list[list[int]]:
    """Tiers ascending in buyers, descending in price, each inside the supplier's bounds."""
    if not tiers or len(tiers) > TIERS_MAX:
        raise ValidationError(
            _("Give from 1 to %(max)d price tiers.") % {"max": TIERS_MAX}, code="tiers"
        )
    clean: list[list[int]] = []
    for raw in tiers:
        buyers, price = int(raw[0]), int(raw[1])
        if not 1 <= buyers <= BUYERS_MAX:
            raise ValidationError(_("A tier's number of buyers must be at least 1."), code="tiers")
        campaign_price_check(item=item, price_fen=price)
        if clean and (buyers <= clean[-1][0] or price >= clean[-1][1]):
            raise ValidationError(
                _("Each tier needs more buyers and a lower price than the one before."),
                code="tiers",
            )
        clean.append([buyers, price])
    if clean[0][0] != 1:
        raise ValidationError(_("The first tier is the opening price, from 1 buyer."), code="tiers")
    return clean


# --- create and change ----------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What the creator sets; prices in fen."""

    title: str
    tiers: Sequence[Sequence[int]]
    ends_at: datetime
    quantity: int
    min_buyers: int = 1
    per_fan_limit: int = 1
    allow_cancel: bool = False
    group_size: int = 0
    lifetime_hours: int = 24
    new_buyers_only: bool = False


def _terms_check(*, kind: str, terms: Terms, item: ListingItem) -> list[list[int]]:
    tiers = _tiers_clean(terms.tiers, item)
    if terms.ends_at <= timezone.now():
        raise ValidationError(_("The deadline must be in the future."), code="ends_at")
    if terms.ends_at > timezone.now() + timedelta(days=60):
        raise ValidationError(_("A group buy runs for at most 60 days."), code="ends_at")
    if not 1 <= terms.per_fan_limit <= 10:
        raise ValidationError(_("The limit per buyer must be from 1 to 10."), code="limit")
    if kind == GroupBuy.Kind.FIXED:
        if len(tiers) != 1:
            raise ValidationError(_("A fixed-size group has one group price."), code="tiers")
        if not 2 <= terms.group_size <= 50:
            raise ValidationError(_("A group has from 2 to 50 members."), code="group_size")
        if not 1 <= terms.lifetime_hours <= 72:
            raise ValidationError(
                _("A group's lifetime is from 1 to 72 hours."), code="lifetime_hours"
            )
    elif not 1 <= terms.min_buyers <= BUYERS_MAX:
        raise ValidationError(_("The minimum must be at least 1 buyer."), code="min_buyers")
    return tiers


def groupbuy_create(*, kind: str, item: ListingItem, terms: Terms) -> GroupBuy:
    """Start a group buy on ITEM now: its QUANTITY leaves the SKU's shared stock (one checked
    update); ValidationError when the terms are not allowed or the stock is not there."""
    if kind not in GroupBuy.Kind.values:
        raise ValidationError(_("Choose a kind of group buy."), code="kind")
    tiers = _terms_check(kind=kind, terms=terms, item=item)
    if not 1 <= terms.quantity <= 100_000:
        raise ValidationError(_("The quantity must be from 1 to 100,000."), code="quantity")
    if GroupBuy.objects.filter(item=item, status=GroupBuy.Status.OPEN).exists():
        raise ValidationError(
            _("This item already has a group buy in progress."), code="already_running"
        )
    with transaction.atomic():
        if not campaign_stock_take(sku_id=item.sku_id, quantity=terms.quantity):
            raise ValidationError(
                _("Not enough stock: the supplier has %(stock)d left.") % {"stock": item.sku.stock},
                code="stock",
            )
        campaign = GroupBuy.objects.create(
            kind=kind,
            title=terms.title.strip()[:60] or item.listing.title[:60],
            item=item,
            tiers=tiers,
            min_buyers=terms.min_buyers if kind == GroupBuy.Kind.TIERED else 1,
            group_size=terms.group_size if kind == GroupBuy.Kind.FIXED else 0,
            lifetime_hours=terms.lifetime_hours,
            new_buyers_only=terms.new_buyers_only and kind == GroupBuy.Kind.FIXED,
            allow_cancel=terms.allow_cancel and kind == GroupBuy.Kind.TIERED,
            per_fan_limit=terms.per_fan_limit,
            quantity=terms.quantity,
            units_left=terms.quantity,
            starts_at=timezone.now(),
            ends_at=terms.ends_at,
        )
        transaction.on_commit(bump)  # product pages and cards show its strip
    return campaign


def groupbuy_update(*, campaign: GroupBuy, terms: Terms) -> GroupBuy:
    """Change CAMPAIGN's terms. After the first buyer joined, only in buyers' favour: prices
    and thresholds the same or lower, the minimum the same or lower, the deadline the same or
    later, cancelling allowed (never withdrawn), the limit per buyer the same or higher, a
    group's lifetime the same or longer and its size unchanged; anything else is refused.
    The quantity is fixed when it starts."""
    with transaction.atomic():
        locked = (
            GroupBuy.objects.select_for_update().select_related("item__sku").get(pk=campaign.pk)
        )
        if locked.status != GroupBuy.Status.OPEN:
            raise ValidationError(_("This group buy has ended."), code="ended")
        tiers = _terms_check(kind=locked.kind, terms=terms, item=locked.item)
        if locked.joined_ever:
            _favour_check(locked, terms, tiers)
        locked.title = terms.title.strip()[:60] or locked.title
        locked.tiers = tiers
        locked.ends_at = terms.ends_at
        locked.per_fan_limit = terms.per_fan_limit
        if locked.kind == GroupBuy.Kind.TIERED:
            locked.min_buyers = terms.min_buyers
            locked.allow_cancel = terms.allow_cancel
        else:
            locked.group_size = terms.group_size
            locked.lifetime_hours = terms.lifetime_hours
            locked.new_buyers_only = terms.new_buyers_only
        locked.save()
    return locked


def _favour_check(old: GroupBuy, terms: Terms, tiers: list[list[int]]) -> None:
    worse = _("Buyers have joined: the terms may now only change in their favour (%(what)s).")
    problems = []
    if len(tiers) < len(old.tiers):
        problems.append(_("no tier may be removed"))
    for i, (buyers, price) in enumerate(old.price_list):
        if i < len(tiers) and (tiers[i][0] > buyers or tiers[i][1] > price):
            problems.append(_("tiers may only get lower prices and fewer buyers"))
            break
    if terms.ends_at < old.ends_at:
        problems.append(_("the deadline may only move later"))
    if terms.per_fan_limit < old.per_fan_limit:
        problems.append(_("the limit per buyer may only go up"))
    if old.kind == GroupBuy.Kind.TIERED:
        if terms.min_buyers > old.min_buyers:
            problems.append(_("the minimum may only go down"))
        if old.allow_cancel and not terms.allow_cancel:
            problems.append(_("cancelling may not be withdrawn"))
    else:
        if terms.group_size != old.group_size:
            problems.append(_("the group size may not change"))
        if terms.lifetime_hours < old.lifetime_hours:
            problems.append(_("a group's lifetime may only get longer"))
        if terms.new_buyers_only and not old.new_buyers_only:
            problems.append(_("joining may not be restricted to new buyers now"))
    if problems:
        raise ValidationError(worse % {"what": "; ".join(problems)}, code="not_in_favour")


# --- tickets (the checkout link) ------------------------------------------------------------


def ticket_make(*, campaign: GroupBuy, quantity: int = 1, team_code: str = "") -> str:
    """The signed token of /checkout/?campaign=group:<token>: the campaign, the units and the
    group to join ("" opens a new one). It names the shop's schema: another shop's page
    cannot mint tickets for this one. Prices are never in it: the claim reads the live tier."""
    return signing.dumps(
        {"s": current_schema(), "c": campaign.pk, "q": quantity, "t": team_code},
        salt=TICKET_SALT,
        compress=True,
    )


def _ticket_read(ticket: str) -> dict[str, Any]:
    invalid = ValidationError(_("This group buy link is not valid."), code="campaign_ticket")
    try:
        data = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError(
            _("This group buy link has expired. Please join again from the group buy's page."),
            code="campaign_ticket",
        ) from exc
    except signing.BadSignature as exc:
        raise invalid from exc
    if (
        not isinstance(data, dict)
        or data.get("s") != current_schema()
        or not isinstance(data.get("c"), int)
        or not isinstance(data.get("q"), int)
        or not isinstance(data.get("t"), str)
    ):
        raise invalid
    return data


def team_join_problem(team: GroupTeam | None) -> str:
    if team is None:
        return _("This group does not exist.")
    if team.status == GroupTeam.Status.FULL:
        return _("This group is already complete.")
    if team.status != GroupTeam.Status.OPEN or team.expires_at <= timezone.now():
        return _("This group has closed.")
    if team.seats >= team.size:
        return _(
            "This group's places are all taken. Try again in a few minutes, or open a new one."
        )
    return ""


def new_buyer_problem(campaign: GroupBuy, fan: Fan | None, exclude: int | None = None) -> str:
    if fan is None or not campaign.new_buyers_only:
        return ""
    paid = Order.objects.filter(fan=fan, paid_at__isnull=False)
    if exclude is not None:
        paid = paid.exclude(pk=exclude)
    if paid.exists():
        return _("Only buyers new to this shop may join a group; you can open your own.")
    return ""


def join_price(campaign: GroupBuy) -> int:
    """What a buyer joining now pays per unit (she is counted: paid buyers + 1)."""
    if campaign.kind == GroupBuy.Kind.FIXED:
        return campaign.price_list[0][1]
    return tier_price(campaign.price_list, campaign.paid_count + 1)


def claim_from_ticket(*, ticket: str, fan: Fan | None) -> CampaignClaim:
    """The checkout a ticket grants: the campaign's item at the price of joining now."""
    data = _ticket_read(ticket)
    campaign = GroupBuy.objects.filter(pk=data["c"]).first()
    if campaign is None:
        raise ValidationError(_("This group buy link is not valid."), code="campaign_ticket")
    problem = join_problem(campaign, fan=fan, quantity=data["q"])
    team = None
    if not problem and data["t"]:
        team = GroupTeam.objects.filter(campaign=campaign, code=data["t"]).first()
        problem = team_join_problem(team) or new_buyer_problem(campaign, fan)
    if problem:
        raise ValidationError(problem, code="campaign_closed")
    deadline = campaign.ends_at
    if team is not None:
        deadline = team.expires_at
    elif campaign.kind == GroupBuy.Kind.FIXED:
        deadline = timezone.now() + timedelta(hours=campaign.lifetime_hours)
    return CampaignClaim(
        kind=KIND,
        campaign_id=campaign.pk,
        item_id=campaign.item_id,
        quantity=data["q"],
        unit_price_fen=join_price(campaign),
        ref=data["t"],
        pay_deadline=deadline,
    )


def join_problem(campaign: GroupBuy, *, fan: Fan | None, quantity: int) -> str:
    """Why nobody (or FAN) can join CAMPAIGN now with QUANTITY units; "" when she can."""
    now = timezone.now()
    if campaign.status != GroupBuy.Status.OPEN or campaign.ends_at <= now:
        return _("This group buy has ended.")
    if not 1 <= quantity <= campaign.per_fan_limit:
        return _("You may buy from 1 to %(max)d in this group buy.") % {
            "max": campaign.per_fan_limit
        }
    if campaign.units_left < quantity:
        return _("This group buy is sold out.")
    if fan is not None and (
        GroupMember.objects.filter(
            campaign=campaign, fan=fan, status__in=GroupMember.ACTIVE
        ).exists()
    ):
        return _("You have already joined this group buy.")
    return ""


# --- the order's hooks (storefront.campaigns.claims.CampaignKind) ---------------------------


def member_attach(*, order: Order, claim: CampaignClaim) -> GroupMember:
    """Inside order_place's transaction: count ORDER's buyer in, under the campaign's lock.

    The seat, the units and the price are decided here one buyer after another, so at a tier
    boundary or for the last place of a group exactly the right buyers get in. A price that
    rose since the checkout page (a buyer cancelled) is refused, never charged silently."""
    campaign = GroupBuy.objects.select_for_update().get(pk=claim.campaign_id)
    fan = order.fan
    problem = join_problem(campaign, fan=fan, quantity=claim.quantity)
    if problem:
        raise ValidationError(problem, code="campaign_closed")
    if claim.unit_price_fen < join_price(campaign) or claim.item_id != campaign.item_id:
        raise ValidationError(
            _("The group buy's price changed while you were ordering. Please check out again."),
            code="campaign_price",
        )
    team = None
    if campaign.kind == GroupBuy.Kind.FIXED:
        team = _team_seat_take(campaign=campaign, code=claim.ref, fan=fan, order=order)
    campaign.units_left -= claim.quantity
    campaign.seats += 1
    campaign.joined_ever = True
    campaign.save(update_fields=["units_left", "seats", "joined_ever"])
    try:
        with transaction.atomic():
            return GroupMember.objects.create(
                campaign=campaign,
                team=team,
                fan=fan,
                order=order,
                quantity=claim.quantity,
                unit_price_fen=claim.unit_price_fen,
            )
    except IntegrityError as exc:  # her other tab joined a moment ago
        raise ValidationError(
            _("You have already joined this group buy."), code="campaign_closed"
        ) from exc


def _team_seat_take(*, campaign: GroupBuy, code: str, fan: Fan, order: Order) -> GroupTeam:
    if not code:
        for _attempt in range(5):
            new_code = "".join(secrets.choice(TEAM_CODE_ALPHABET) for _ in range(10))
            if not GroupTeam.objects.filter(code=new_code).exists():
                break
        # The opener pays within her order's window (at most the lifetime, the claim's
        # deadline); friends have the group's whole lifetime.
        expires = timezone.now() + timedelta(hours=campaign.lifetime_hours)
        return GroupTeam.objects.create(
            campaign=campaign,
            code=new_code,
            leader=fan,
            size=campaign.group_size,
            seats=1,
            expires_at=expires,
        )
    team = GroupTeam.objects.select_for_update().filter(campaign=campaign, code=code).first()
    problem = team_join_problem(team) or new_buyer_problem(campaign, fan, exclude=order.pk)
    if problem or team is None:
        raise ValidationError(problem, code="campaign_closed")
    team.seats += 1
    team.save(update_fields=["seats"])
    return team


def member_paid(*, order: Order) -> None:
    """ORDER was paid (order_mark_paid's transaction, the order locked): count her in; a
    fixed group whose last member paid is complete and is settled after the commit."""
    campaign = GroupBuy.objects.select_for_update().get(members__order=order)
    member = GroupMember.objects.select_for_update().get(order=order)
    if member.status != GroupMember.Status.PENDING:
        return
    member.status = GroupMember.Status.PAID
    member.save(update_fields=["status"])
    campaign.paid_count += 1
    campaign.save(update_fields=["paid_count"])
    if member.team_id is not None:
        team = GroupTeam.objects.select_for_update().get(pk=member.team_id)
        team.paid_count += 1
        team.save(update_fields=["paid_count"])
        if team.paid_count >= team.size and team.status == GroupTeam.Status.OPEN:
            team.status, team.closed_at = GroupTeam.Status.FULL, timezone.now()
            team.save(update_fields=["status", "closed_at"])
            from .tasks import team_settle_task

            team_id = team.pk
            transaction.on_commit(lambda: team_settle_task.delay(team_id=team_id))


def member_released(*, order: Order, line: OrderLine) -> None:
    """ORDER was not paid: its seat and units go back to the campaign (to the SKU once the
    campaign gave its stock back). Idempotent."""
    member = GroupMember.objects.filter(order=order).first()
    if member is None:
        return
    campaign = GroupBuy.objects.select_for_update().get(pk=member.campaign_id)
    member = GroupMember.objects.select_for_update().get(pk=member.pk)
    if member.status != GroupMember.Status.PENDING:
        return
    member.status = GroupMember.Status.RELEASED
    member.save(update_fields=["status"])
    _units_back(campaign, member.quantity)
    campaign.seats -= 1
    campaign.save(update_fields=["units_left", "seats"])
    if member.team_id is not None:
        GroupTeam.objects.select_for_update().filter(pk=member.team_id).update(seats=F("seats") - 1)


def _units_back(campaign: GroupBuy, quantity: int) -> None:
    """QUANTITY units of a member who left go back to the campaign, or to the SKU when the
    campaign already returned its stock (the caller saves units_left)."""
    if campaign.stock_returned:
        campaign_stock_return(sku_id=campaign.item.sku_id, quantity=quantity)
    else:
        campaign.units_left += quantity


def holds_fulfilment(*, order: Order) -> bool:
    """A member's goods wait until her group succeeded and her price was settled."""
    member = GroupMember.objects.filter(order=order).first()
    return member is not None and not member.fulfilled


# --- settling a member ----------------------------------------------------------------------


RefundFn = Callable[..., Refund]


def _refund_key(member: GroupMember, what: str) -> str:
    return f"groupbuy:{current_shop_id()}:{member.pk}:{what}:{member.refund_attempt}"


def _payment_of(order: Order) -> Payment:
    payment = (
        Payment.objects.filter(tenant_id=current_shop_id(), order_number=order.number)
        .exclude(captured_at=None)
        .order_by("pk")
        .first()
    )
    if payment is None:
        raise PaymentError(f"order {order.number} has no captured payment")
    return payment


def _refund_issue(member: GroupMember, payment: Payment, what: str, reason: str) -> bool:
    """Ask the provider for MEMBER's refund (its key: member and attempt); True once it has
    succeeded. Left pending (unreachable) or processing: False, the next run asks again with
    the same key; failed: the next attempt gets a new key (the money is refundable again)."""
    try:
        refund = adjustment_refund(
            payment=payment,
            amount=member.refund_fen or 0,
            key=_refund_key(member, what),
            reason=reason,
        )
    except (ProviderError, PaymentError) as exc:
        GroupMember.objects.filter(pk=member.pk).update(refund_error=str(exc)[:200])
        logger.warning("group buy refund of member %s not made yet: %s", member.pk, exc)
        return False
    if refund.status == Refund.Status.FAILED:
        GroupMember.objects.filter(pk=member.pk).update(
            refund_attempt=member.refund_attempt + 1, refund_error=refund.last_error[:200]
        )
        return False
    return refund.status == Refund.Status.SUCCEEDED


def _lines_final(line: OrderLine, final: int) -> tuple[CaptureLine, int, int]:
    """LINE at the final unit price: (capture line, creator coupon, platform coupon). Coupons
    keep their amounts where they still fit (hers at most her commission at the new price, the
    platform's leaving the buyer at least one fen to pay)."""
    plain = CaptureLine(
        supplier_id=line.supplier_id,
        quantity=line.quantity,
        supply_price_fen=line.supply_price_fen,
        retail_price_fen=final,
        shipping_fen=line.shipping_fen,
    )
    creator = min(line.creator_discount_fen, creator_discount_cap_fen([plain])[0])
    platform = max(0, min(line.platform_discount_fen, final * line.quantity - creator - 1))
    after = CaptureLine(
        supplier_id=line.supplier_id,
        quantity=line.quantity,
        supply_price_fen=line.supply_price_fen,
        retail_price_fen=final,
        shipping_fen=line.shipping_fen,
        creator_discount_fen=creator,
        platform_discount_fen=platform,
    )
    return after, creator, platform


def _paid(line: CaptureLine) -> int:
    return (
        line.retail_price_fen * line.quantity
        + line.shipping_fen
        - line.creator_discount_fen
        - line.platform_discount_fen
    )


def _difference(lines: list[OrderLine], final: int) -> int:
    """What a member paid for LINES above the FINAL unit price: her refund of the difference."""
    from storefront.orders.services import capture_lines

    before = capture_lines(lines)
    after = [
        _lines_final(ln, final)[0] if ln.campaign else cl
        for ln, cl in zip(lines, before, strict=True)
    ]
    return sum(map(_paid, before)) - sum(map(_paid, after))


def _lines_reprice(lines: list[OrderLine], final: int) -> tuple[list[OrderLine], int]:
    """LINES' campaign lines set to the FINAL unit price in Python (their coupons as
    _lines_final keeps them): (the lines changed, the fen their buyer paid less)."""
    changed: list[OrderLine] = []
    moved = 0
    for line in lines:
        if not line.campaign or line.retail_price_fen == final:
            continue
        _after, creator, platform = _lines_final(line, final)
        old_total = line.paid_fen
        line.retail_price_fen = final
        line.creator_discount_fen, line.platform_discount_fen = creator, platform
        moved += old_total - line.paid_fen
        changed.append(line)
    return changed, moved


REPRICED_FIELDS = ["retail_price_fen", "creator_discount_fen", "platform_discount_fen"]


def _order_capture_lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("id"))


def member_settle(*, member_id: int) -> bool:
    """Carry out a member's success at her final price (fixed already); True when done.

    1. the figures: under the member's lock, her final price and refund (once);
    2. the refund of the difference through the provider (key per member and attempt);
    3. one transaction: the ledger adjusted to the final price, her order's line and totals
       repriced, the member settled;
    4. her supplier orders, on the final price (order_fulfil, idempotent).
    Each step is safe to repeat, so a run killed anywhere is finished by the next.
    """
    from storefront.orders.services import capture_lines, order_fulfil

    member = GroupMember.objects.select_related("order").get(pk=member_id)
    if member.status == GroupMember.Status.SETTLED:
        if not member.fulfilled:
            order_fulfil(order_number=member.order.number)
            GroupMember.objects.filter(pk=member.pk).update(fulfilled=True)
        return True
    if member.status != GroupMember.Status.PAID or member.final_price_fen is None:
        return False
    order = member.order
    lines = _order_capture_lines(order)
    final = member.final_price_fen
    if member.refund_fen is None:
        with transaction.atomic():
            locked = GroupMember.objects.select_for_update().get(pk=member.pk)
            if locked.refund_fen is None:
                locked.refund_fen = _difference(lines, final)
                locked.save(update_fields=["refund_fen"])
            member = locked
    payment = _payment_of(order)
    if member.refund_fen and not _refund_issue(
        member, payment, "diff", _("Group buy: price difference")
    ):
        return False
    with transaction.atomic():
        locked_order = Order.objects.select_for_update().get(pk=order.pk)
        member = GroupMember.objects.select_for_update().get(pk=member.pk)
        if member.status == GroupMember.Status.PAID:
            lines = _order_capture_lines(locked_order)
            changed, moved = _lines_reprice(lines, final)
            for line in changed:
                line.save(update_fields=REPRICED_FIELDS)
            if moved != (member.refund_fen or 0):
                raise RuntimeError(
                    f"member {member.pk}: repriced {moved}, refund {member.refund_fen}"
                )
            if moved:
                locked_order.goods_fen -= moved
                locked_order.total_fen -= moved
                locked_order.save(update_fields=["goods_fen", "total_fen"])
            adjustment_post(
                payment=payment,
                lines=capture_lines(lines),
                refund_fen=member.refund_fen or 0,
                key=f"groupbuy:{current_shop_id()}:{member.pk}:adjust",
                memo=f"group buy {member.campaign_id}: final price {yuan(final)}",
            )
            member.status, member.settled_at = GroupMember.Status.SETTLED, timezone.now()
            member.refund_error = ""
            member.save(update_fields=["status", "settled_at", "refund_error"])
    order_fulfil(order_number=order.number)
    GroupMember.objects.filter(pk=member.pk).update(fulfilled=True)
    return True


def member_refund_full(*, member_id: int) -> bool:
    """Refund a paid member in full (her group failed, or she cancelled); True when done.

    The same steps as member_settle: the amount fixed once, the refund once per key, then one
    transaction that reverses everything booked for her payment, closes her order (cancelled,
    its coupons back) and gives her units back (to the campaign while it runs, else the SKU).
    """
    from storefront.orders.services import order_coupons_release

    member = GroupMember.objects.select_related("order").get(pk=member_id)
    if member.status == GroupMember.Status.REFUNDED:
        return True
    if member.status != GroupMember.Status.PAID:
        return False
    payment = _payment_of(member.order)
    if member.refund_fen is None:
        with transaction.atomic():
            locked = GroupMember.objects.select_for_update().get(pk=member.pk)
            if locked.refund_fen is None:
                locked.refund_fen = payment.amount - payment.refunded_amount
                locked.save(update_fields=["refund_fen"])
            member = locked
    if member.refund_fen and not _refund_issue(
        member, payment, "full", _("Group buy: refunded in full")
    ):
        return False
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=member.order_id)
        campaign = (
            GroupBuy.objects.select_for_update().select_related("item").get(pk=member.campaign_id)
        )
        member = GroupMember.objects.select_for_update().get(pk=member.pk)
        if member.status != GroupMember.Status.PAID:
            return member.status == GroupMember.Status.REFUNDED
        reversal_post(
            payment=payment,
            refund_fen=member.refund_fen or 0,
            key=f"groupbuy:{current_shop_id()}:{member.pk}:reverse",
            memo=f"group buy {member.campaign_id}: refunded in full",
        )
        member.status, member.settled_at = GroupMember.Status.REFUNDED, timezone.now()
        member.refund_error = ""
        member.save(update_fields=["status", "settled_at", "refund_error"])
        _units_back(campaign, member.quantity)
        campaign.paid_count -= 1
        campaign.seats -= 1
        campaign.save(update_fields=["units_left", "paid_count", "seats"])
        if member.team_id is not None:
            GroupTeam.objects.filter(pk=member.team_id).update(
                paid_count=F("paid_count") - 1, seats=F("seats") - 1
            )
        order.status, order.closed_at = Order.Status.CANCELLED, timezone.now()
        order.save(update_fields=["status", "closed_at"])
        order_coupons_release(order=order)
    return True


def member_cancel(*, order: Order) -> GroupMember:
    """The buyer leaves a tiered group buy before its deadline (when its terms allow): she is
    refunded in full and her units go back to the campaign. ValidationError otherwise."""
    member = GroupMember.objects.select_related("campaign").filter(order=order).first()
    if member is None:
        raise ValidationError(_("This order is not part of a group buy."), code="not_member")
    campaign = member.campaign
    if not campaign.allow_cancel:
        raise ValidationError(
            _("This group buy's rules do not allow cancelling."), code="no_cancel"
        )
    if campaign.status != GroupBuy.Status.OPEN or campaign.ends_at <= timezone.now():
        raise ValidationError(
            _("The group buy has ended: it can no longer be cancelled."), code="no_cancel"
        )
    if member.status == GroupMember.Status.REFUNDED:
        return member
    if member.status != GroupMember.Status.PAID:
        raise ValidationError(_("Only a paid order can be cancelled here."), code="no_cancel")
    with transaction.atomic():
        # Under the campaign's lock: a close that starts now waits, and one that started
        # (status closing) is not raced.
        locked = GroupBuy.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != GroupBuy.Status.OPEN:
            raise ValidationError(
                _("The group buy has ended: it can no longer be cancelled."), code="no_cancel"
            )
        GroupMember.objects.filter(pk=member.pk).update(cancelled=True)
    if not member_refund_full(member_id=member.pk):
        raise ValidationError(
            _("The refund could not be made just now. It will be retried automatically."),
            code="refund_pending",
        )
    member.refresh_from_db()
    return member


# --- closing ----------------------------------------------------------------------------------


def _pending_resolve(members: Sequence[GroupMember]) -> None:
    """Close the unpaid orders of MEMBERS: each is either paid in time (then counted) or
    released (its payments expired first, so a late payment is refunded by billing)."""
    from storefront.orders.services import order_expire

    for member in members:
        order_expire(order=Order.objects.get(pk=member.order_id))


def groupbuy_close(*, campaign_id: int, threads: int = 1) -> GroupBuy:
    """Close a tiered group buy at its deadline and settle every member; safe to run again.

    Runs to the end when it can: the outcome and the final price are fixed once (under the
    campaign's lock), then the members are settled 250 at a time (settle_many: every refund
    first, then the supplier orders) or, when it failed, refunded one by one (refund_full);
    when none is left the unsold units go back to the SKU. A member whose refund the
    provider has not made yet is left for the next run (the task runs every minute).
    THREADS: settle the members in that many threads (a large group buy).
    """
    campaign = GroupBuy.objects.get(pk=campaign_id)
    if campaign.kind != GroupBuy.Kind.TIERED:
        return campaign
    if campaign.status == GroupBuy.Status.OPEN:
        if campaign.ends_at > timezone.now():
            return campaign
        with transaction.atomic():
            locked = GroupBuy.objects.select_for_update().get(pk=campaign_id)
            if locked.status == GroupBuy.Status.OPEN:
                locked.status = GroupBuy.Status.CLOSING
                locked.save(update_fields=["status"])
                transaction.on_commit(bump)
    members = GroupMember.objects.filter(campaign_id=campaign_id)
    _pending_resolve(list(members.filter(status=GroupMember.Status.PENDING)))
    with transaction.atomic():
        campaign = GroupBuy.objects.select_for_update().get(pk=campaign_id)
        if campaign.status == GroupBuy.Status.CLOSING:
            paid = members.filter(status=GroupMember.Status.PAID)
            if campaign.paid_count >= campaign.min_buyers and campaign.paid_count > 0:
                lowest = min(paid.values_list("unit_price_fen", flat=True), default=None)
                final = tier_price(campaign.price_list, campaign.paid_count)
                final = min(final, lowest) if lowest is not None else final
                campaign.status, campaign.final_price_fen = GroupBuy.Status.SUCCEEDED, final
                paid.update(final_price_fen=final)
            else:
                campaign.status = GroupBuy.Status.FAILED
            campaign.closed_at = timezone.now()
            campaign.save(update_fields=["status", "final_price_fen", "closed_at"])
            campaign_closed_emit(
                kind="groupbuy",
                campaign_id=campaign.pk,
                payload={
                    "listing_item_id": campaign.item_id,
                    "ended_at": campaign.closed_at,
                    "outcome": campaign.status,
                    "buyers": campaign.paid_count,
                    "final_price_fen": campaign.final_price_fen,
                },
            )
    return _members_finish(campaign_id=campaign_id, threads=threads)


def _ids(members: Any) -> list[int]:
    return list(members.order_by("pk").values_list("pk", flat=True))


def _in_batches(work: Callable[[list[int]], object], ids: list[int], threads: int) -> None:
    """WORK(batch) for IDS cut into batches of settle_many.BATCH, in THREADS threads."""
    from .settle_many import BATCH

    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    _in_threads(lambda k: work(batches[k]), list(range(len(batches))), threads)


def _in_threads(work: Callable[[int], object], ids: list[int], threads: int) -> None:
    """WORK(id) for each of IDS, in THREADS threads (each its own connection, in this shop):
    the members are independent, and a close of thousands waits mostly on the database and
    the provider. One thread: in this one."""
    if threads <= 1 or len(ids) < 2 * threads:
        for one in ids:
            work(one)
        return
    import threading

    from django.db import connection as default_connection

    connection: Any = default_connection  # django-tenants' wrapper: tenant, set_tenant
    tenant = connection.tenant
    failures: list[BaseException] = []

    def run(part: list[int]) -> None:
        try:
            connection.set_tenant(tenant)
            for one in part:
                work(one)
        except BaseException as exc:  # reported after the others finished their part
            failures.append(exc)
        finally:
            connection.close()

    parts = [ids[i::threads] for i in range(threads)]
    running = [threading.Thread(target=run, args=(part,)) for part in parts]
    for t in running:
        t.start()
    for t in running:
        t.join()
    if failures:
        raise failures[0]


def _members_finish(*, campaign_id: int, threads: int = 1) -> GroupBuy:
    campaign = GroupBuy.objects.get(pk=campaign_id)
    members = GroupMember.objects.filter(campaign_id=campaign_id)
    if campaign.status == GroupBuy.Status.SUCCEEDED:
        from .settle_many import members_fulfil_many, members_settle_many

        # Every refund first, a batch at a time (settle_many); the supplier orders after.
        paid = _ids(members.filter(status=GroupMember.Status.PAID))
        _in_batches(lambda ids: members_settle_many(member_ids=ids), paid, threads)
        unshipped = _ids(members.filter(status=GroupMember.Status.SETTLED, fulfilled=False))
        _in_batches(lambda ids: members_fulfil_many(member_ids=ids), unshipped, threads)
    elif campaign.status == GroupBuy.Status.FAILED:
        # A failed group has fewer buyers than its minimum: member by member (left so; a
        # minimum in the thousands would want settle_many's batches for full refunds too).
        failed = _ids(members.filter(status=GroupMember.Status.PAID))
        _in_threads(lambda pk: member_refund_full(member_id=pk), failed, threads)
    else:
        return campaign
    unfinished = (
        members.filter(status=GroupMember.Status.PAID).exists()
        or members.filter(status=GroupMember.Status.SETTLED, fulfilled=False).exists()
    )
    if not unfinished:
        _stock_give_back(campaign_id)
    return GroupBuy.objects.get(pk=campaign_id)


def _stock_give_back(campaign_id: int) -> None:
    """The units nobody holds go back to the SKU's shared stock, once."""
    with transaction.atomic():
        campaign = GroupBuy.objects.select_for_update().select_related("item").get(pk=campaign_id)
        if campaign.stock_returned:
            return
        campaign_stock_return(sku_id=campaign.item.sku_id, quantity=campaign.units_left)
        campaign.units_left = 0
        campaign.stock_returned = True
        if campaign.status in (GroupBuy.Status.SUCCEEDED, GroupBuy.Status.FAILED):
            pass  # the outcome stays what buyers see
        else:
            campaign.status = GroupBuy.Status.ENDED
        campaign.closed_at = campaign.closed_at or timezone.now()
        campaign.save(update_fields=["units_left", "stock_returned", "status", "closed_at"])
        transaction.on_commit(bump)


def team_settle(*, team_id: int) -> GroupTeam:
    """Settle a fixed group: complete → each member at the group price (a price lowered since
    she paid is refunded as a difference), shipped; timed out → everyone refunded in full.
    Safe to run again; a team still open before its time does nothing."""
    team = GroupTeam.objects.get(pk=team_id)
    if team.status == GroupTeam.Status.OPEN:
        if team.expires_at > timezone.now():
            return team
        _pending_resolve(list(team.members.filter(status=GroupMember.Status.PENDING)))
        with transaction.atomic():
            team = GroupTeam.objects.select_for_update().get(pk=team_id)
            if team.status == GroupTeam.Status.OPEN:
                team.status = (
                    GroupTeam.Status.FULL
                    if team.paid_count >= team.size
                    else GroupTeam.Status.FAILED
                )
                team.closed_at = timezone.now()
                team.save(update_fields=["status", "closed_at"])
    members = team.members.all()
    if team.status == GroupTeam.Status.FULL:
        campaign = GroupBuy.objects.get(pk=team.campaign_id)
        paid = members.filter(status=GroupMember.Status.PAID)
        lowest = min(paid.values_list("unit_price_fen", flat=True), default=None)
        final = campaign.price_list[0][1]
        final = min(final, lowest) if lowest is not None else final
        paid.filter(final_price_fen=None).update(final_price_fen=final)
        todo = members.filter(status=GroupMember.Status.PAID) | members.filter(
            status=GroupMember.Status.SETTLED, fulfilled=False
        )
        for member_id in todo.order_by("pk").values_list("pk", flat=True):
            member_settle(member_id=member_id)
    else:
        for member_id in _ids(members.filter(status=GroupMember.Status.PAID)):
            member_refund_full(member_id=member_id)
    return GroupTeam.objects.get(pk=team_id)


def fixed_campaign_close(*, campaign_id: int) -> GroupBuy:
    """A fixed-size campaign past its end: no new groups; once every group is settled its
    unsold units go back to the SKU."""
    campaign = GroupBuy.objects.get(pk=campaign_id)
    if campaign.kind != GroupBuy.Kind.FIXED or campaign.ends_at > timezone.now():
        return campaign
    if campaign.status == GroupBuy.Status.OPEN:
        GroupBuy.objects.filter(pk=campaign_id, status=GroupBuy.Status.OPEN).update(
            status=GroupBuy.Status.CLOSING
        )
        transaction.on_commit(bump)
    for team_id in campaign.teams.filter(status=GroupTeam.Status.OPEN).values_list("pk", flat=True):
        team_settle(team_id=team_id)
    open_left = campaign.teams.filter(status=GroupTeam.Status.OPEN).exists()
    unsettled = GroupMember.objects.filter(
        campaign_id=campaign_id, status__in=(GroupMember.Status.PENDING, GroupMember.Status.PAID)
    ).exists()
    if not open_left and not unsettled:
        _stock_give_back(campaign_id)
    return GroupBuy.objects.get(pk=campaign_id)


def groupbuys_close_due(*, now: datetime | None = None) -> int:
    """This shop's group buys and groups whose time is up, closed or carried on; returns how
    many were visited (the task calls this every minute)."""
    now = now or timezone.now()
    visited = 0
    due = GroupBuy.objects.filter(
        status__in=(GroupBuy.Status.OPEN, GroupBuy.Status.CLOSING), ends_at__lte=now
    )
    unfinished = GroupBuy.objects.filter(
        status__in=(GroupBuy.Status.SUCCEEDED, GroupBuy.Status.FAILED), stock_returned=False
    )
    for campaign in (due | unfinished).order_by("ends_at")[:50]:
        try:
            if campaign.kind == GroupBuy.Kind.TIERED:
                groupbuy_close(campaign_id=campaign.pk, threads=CLOSE_THREADS)
            else:
                fixed_campaign_close(campaign_id=campaign.pk)
        except Exception:  # one campaign's trouble must not stop the others
            logger.exception("closing group buy %s failed", campaign.pk)
        visited += 1
    teams = GroupTeam.objects.filter(status=GroupTeam.Status.OPEN, expires_at__lte=now)
    stuck = GroupTeam.objects.filter(
        status__in=(GroupTeam.Status.FULL, GroupTeam.Status.FAILED),
        members__status=GroupMember.Status.PAID,
    )
    for team_id in set((teams | stuck).values_list("pk", flat=True)[:200]):
        try:
            team_settle(team_id=team_id)
        except Exception:
            logger.exception("settling group %s failed", team_id)
        visited += 1
    return visited
