"""Reads about rewards for sharing: the shop's reward, whom a sharer brought, the top sharers.

The rule (single level, coupons only) is written down in storefront/README.md ("sharing/"). An
order a fan's share link brought earns her one reward claim when all of these hold:

- it is paid, came through her link (Order.share_link) and was paid on or after the shop's first
  share reward was set up, within REWARD_HORIZON of now;
- its buyer is a new buyer: no earlier paid order of this shop by the same fan or with the same
  contact mobile or e-mail;
- its buyer is not the sharer: not the same fan, and no mobile, e-mail or recipient phone in
  common with the sharer or any of her own orders (a second account of the same household is
  not a friend brought);
- every parcel of it is delivered, its return windows have all closed, no return is in
  progress, and not everything was refunded;
- fewer than the reward's monthly cap of the sharer's rewards were earned by orders paid in the
  same calendar month (Asia/Shanghai) as this one.

Only the order's own sharer is ever named: whoever brought the sharer earns nothing from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.fulfilment.models import ReturnCase, SupplierOrder
from core.shop import current_shop
from storefront.coupons.models import Coupon, CouponClaim
from storefront.models import Fan, Order, ShareLink

# Rewards count per calendar month where the shops are.
MONTHS_TZ = ZoneInfo("Asia/Shanghai")
# An order older than this is no longer looked at: parcels that take longer to be delivered and
# cleared of returns earn nothing (the hourly run stays a bounded scan).
REWARD_HORIZON = timedelta(days=120)
REWARD_SOURCE = "reward"


class Why:
    """Where an order a sharer brought stands (the sharer's account page says it in words)."""

    REWARDED = "rewarded"
    DUE = "due"  # every condition holds: the next run grants it
    NOT_DELIVERED = "not_delivered"
    WINDOW_OPEN = "window_open"
    RETURN_OPEN = "return_open"
    REFUNDED = "refunded"
    RETURNING_BUYER = "returning_buyer"
    SELF = "self"
    OVER_CAP = "over_cap"
    NO_REWARD = "no_reward"  # the shop offers no share reward (or did not when she bought)
    TOO_OLD = "too_old"


def share_reward_coupon() -> Coupon | None:
    """The shop's share reward: its one ACTIVE coupon with purpose SHARE_REWARD that has not
    ended. None when there is none, and None when there are two (a configuration the rule check
    refuses: which one a sharer gets must never be a guess)."""
    found = list(
        Coupon.objects.filter(
            purpose=Coupon.Purpose.SHARE_REWARD,
            status=Coupon.Status.ACTIVE,
            ends_at__gt=timezone.now(),
        ).order_by("pk")[:2]
    )
    return found[0] if len(found) == 1 else None


def rewards_since() -> datetime | None:
    """When the shop first set up a share reward: orders paid before it earn nothing."""
    first = (
        Coupon.objects.filter(purpose=Coupon.Purpose.SHARE_REWARD)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return first


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The calendar month (Asia/Shanghai) that AT falls in, as [start, end)."""
    local = at.astimezone(MONTHS_TZ)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def reward_claims(*, fan_id: int) -> QuerySet[CouponClaim]:
    """Every reward claim the fan holds (any share-reward coupon, past ones included)."""
    return CouponClaim.objects.filter(
        fan_id=fan_id, source=REWARD_SOURCE, coupon__purpose=Coupon.Purpose.SHARE_REWARD
    )


def rewarded_order_numbers() -> QuerySet[CouponClaim, Any]:
    """The orders that have earned a reward already (a subquery of their numbers)."""
    return CouponClaim.objects.filter(source=REWARD_SOURCE).values("reward_order_number")


def rewards_in_month(*, fan_id: int, at: datetime) -> int:
    """How many rewards the fan earned through friends' orders paid in AT's calendar month."""
    start, end = month_bounds(at)
    numbers = reward_claims(fan_id=fan_id).values("reward_order_number")
    return Order.objects.filter(number__in=numbers, paid_at__gte=start, paid_at__lt=end).count()


def _earlier_paid(order_ref: str = "pk") -> Exists:
    """An earlier paid order of this shop by the same buyer (same fan, mobile or e-mail)."""
    same_buyer = Q(fan_id=OuterRef("fan_id")) | (
        Q(contact_mobile=OuterRef("contact_mobile")) & ~Q(contact_mobile="")
    )
    same_buyer |= Q(contact_email=OuterRef("contact_email")) & ~Q(contact_email="")
    earlier = Q(paid_at__lt=OuterRef("paid_at")) | (
        Q(paid_at=OuterRef("paid_at")) & Q(pk__lt=OuterRef(order_ref))
    )
    return Exists(
        Order.objects.filter(same_buyer, earlier, status=Order.Status.PAID, paid_at__isnull=False)
    )


def brought_orders(*, new_only: bool = False) -> QuerySet[Order]:
    """Paid orders that came through someone else's share link, oldest first (one statement).
    NEW_ONLY: only new buyers' first orders; otherwise each is marked `returning` when its
    buyer had bought here before."""
    orders = (
        Order.objects.filter(status=Order.Status.PAID, share_link__isnull=False)
        .exclude(share_link__sharer_id=F("fan_id"))
        .select_related("fan", "share_link__sharer")
        .order_by("paid_at", "pk")
    )
    if new_only:
        return orders.filter(~_earlier_paid())
    return orders.annotate(returning=_earlier_paid())


def _phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[-11:] if len(digits) >= 11 else digits


def _identities(*, mobiles: list[str], emails: list[str]) -> set[str]:
    found = {f"m:{_phone(m)}" for m in mobiles if _phone(m)}
    found |= {f"e:{e.strip().lower()}" for e in emails if e.strip()}
    return found


def sharer_identities(*, fan: Fan) -> set[str]:
    """Every mobile, e-mail and recipient phone the sharer is known by in this shop."""
    rows = list(
        Order.objects.filter(fan=fan).values_list(
            "contact_mobile", "contact_email", "recipient_phone"
        )
    )
    mobiles = [fan.mobile, *(r[0] for r in rows), *(r[2] for r in rows)]
    return _identities(mobiles=mobiles, emails=[fan.email, *(r[1] for r in rows)])


def buyer_identities(order: Order) -> set[str]:
    return _identities(
        mobiles=[order.fan.mobile, order.contact_mobile, order.recipient_phone],
        emails=[order.fan.email, order.contact_email],
    )


@dataclass(frozen=True)
class Window:
    """An order's parcels as billing knows them: can its sale still be undone?"""

    delivered: bool  # every parcel that was not cancelled is delivered (and there is one)
    closes_at: datetime | None  # when the last return window closes
    return_open: bool
    refunded: bool  # nothing of it is kept (every unit refunded, or every parcel cancelled)


def order_windows(*, order_numbers: list[str]) -> dict[str, Window]:
    """Billing's view of ORDER_NUMBERS of this shop (3 queries, whatever their number)."""
    if not order_numbers:
        return {}
    tenant = current_shop()
    parcels: dict[str, list[SupplierOrder]] = {}
    for so in SupplierOrder.objects.filter(
        tenant=tenant, order_number__in=order_numbers
    ).prefetch_related("lines"):
        parcels.setdefault(so.order_number, []).append(so)
    open_returns = set(
        ReturnCase.objects.filter(
            tenant=tenant, order_number__in=order_numbers, status__in=ReturnCase.OPEN
        ).values_list("order_number", flat=True)
    )
    windows = {}
    for number in order_numbers:
        sos = [so for so in parcels.get(number, []) if so.status != SupplierOrder.Status.CANCELLED]
        delivered = bool(sos) and all(so.status == SupplierOrder.Status.DELIVERED for so in sos)
        closes = [_closes_at(so) for so in sos]
        kept = sum(line.quantity - line.refunded_quantity for so in sos for line in so.lines.all())
        windows[number] = Window(
            delivered=delivered,
            closes_at=max((c for c in closes if c is not None), default=None)
            if delivered
            else None,
            return_open=number in open_returns,
            refunded=bool(parcels.get(number)) and kept == 0,
        )
    return windows


def _closes_at(so: SupplierOrder) -> datetime | None:
    if so.returns_close_at is not None:
        return so.returns_close_at
    if so.delivered_at is None:
        return None
    days = max((line.return_days for line in so.lines.all()), default=0)
    return so.delivered_at + timedelta(days=days)


@dataclass(frozen=True)
class Verdict:
    why: str
    until: datetime | None = None  # WINDOW_OPEN: when the last return window closes


def order_verdict(
    *,
    order: Order,
    window: Window | None,
    rewarded: bool,
    coupon: Coupon | None,
    since: datetime | None,
    sharer_ids: set[str],
    month_count: int,
    now: datetime,
) -> Verdict:
    """Where one brought order stands, in the order the sharer would want to be told."""
    if rewarded:
        return Verdict(Why.REWARDED)
    sharer_id = order.share_link.sharer_id if order.share_link else None
    if order.fan_id == sharer_id or buyer_identities(order) & sharer_ids:
        return Verdict(Why.SELF)
    if getattr(order, "returning", False):
        return Verdict(Why.RETURNING_BUYER)
    if since is None or order.paid_at is None or order.paid_at < since:
        return Verdict(Why.NO_REWARD)
    if order.paid_at < now - REWARD_HORIZON:
        return Verdict(Why.TOO_OLD)
    if window is not None and window.refunded:
        return Verdict(Why.REFUNDED)
    if window is None or not window.delivered:
        return Verdict(Why.NOT_DELIVERED)
    if window.return_open:
        return Verdict(Why.RETURN_OPEN)
    if window.closes_at is None or window.closes_at > now:
        return Verdict(Why.WINDOW_OPEN, until=window.closes_at)
    if coupon is None:
        return Verdict(Why.NO_REWARD)
    if month_count >= coupon.reward_monthly_cap:
        return Verdict(Why.OVER_CAP)
    return Verdict(Why.DUE)


def mask_contact(*, mobile: str = "", email: str = "") -> str:
    """A buyer as another fan (or the creator's top list) may see her: 1*********8 or m***."""
    if mobile:
        return mobile[0] + "*" * max(len(mobile) - 2, 1) + mobile[-1]
    if email:
        return email[0] + "***"
    return "***"


def mask_fan(fan: Fan) -> str:
    return mask_contact(mobile=fan.mobile, email=fan.email)


@dataclass(frozen=True)
class BroughtBuyer:
    """One friend's order through the sharer's link, as she sees it."""

    who: str  # masked
    bought_at: datetime | None
    why: str
    until: datetime | None
    reward_name: str  # the coupon she earned for it ("" until then)


@dataclass(frozen=True)
class SharerSummary:
    brought: list[BroughtBuyer]
    rewards: int  # reward claims she holds
    coupon: Coupon | None  # the shop's share reward now
    cap: int  # its monthly cap (0 without one)
    this_month: int  # rewards earned by friends' orders paid this month


BROUGHT_SHOWN = 50


def sharer_summary(*, fan: Fan, now: datetime | None = None) -> SharerSummary:
    """What the sharer sees at her account page: whom she brought (masked, newest first), the
    reward each earned or why not yet, and the monthly cap (a fixed handful of queries)."""
    now = now or timezone.now()
    coupon = share_reward_coupon()
    orders = list(brought_orders().filter(share_link__sharer=fan).reverse()[:BROUGHT_SHOWN])
    claims = {
        c.reward_order_number: c
        for c in reward_claims(fan_id=fan.pk)
        .filter(reward_order_number__in=[o.number for o in orders])
        .select_related("coupon")
    }
    windows = order_windows(order_numbers=[o.number for o in orders if o.number not in claims])
    since = rewards_since()
    sharer_ids = sharer_identities(fan=fan) if orders else set()
    counts: dict[tuple[int, int], int] = {}
    brought = []
    for order in orders:
        month = month_bounds(order.paid_at or now)[0]
        key = (month.year, month.month)
        if key not in counts:
            counts[key] = rewards_in_month(fan_id=fan.pk, at=order.paid_at or now)
        verdict = order_verdict(
            order=order,
            window=windows.get(order.number),
            rewarded=order.number in claims,
            coupon=coupon,
            since=since,
            sharer_ids=sharer_ids,
            month_count=counts[key],
            now=now,
        )
        claim = claims.get(order.number)
        brought.append(
            BroughtBuyer(
                who=mask_contact(mobile=order.contact_mobile, email=order.contact_email)
                if (order.contact_mobile or order.contact_email)
                else mask_fan(order.fan),
                bought_at=order.paid_at,
                why=verdict.why,
                until=verdict.until,
                reward_name=claim.coupon.name if claim else "",
            )
        )
    return SharerSummary(
        brought=brought,
        rewards=reward_claims(fan_id=fan.pk).count(),
        coupon=coupon,
        cap=coupon.reward_monthly_cap if coupon else 0,
        this_month=rewards_in_month(fan_id=fan.pk, at=now),
    )


@dataclass(frozen=True)
class TopSharer:
    who: str
    links: int
    visits: int
    new_buyers: int
    rewards: int


def _count(qs: QuerySet, group: str) -> Coalesce:
    """COUNT(*) of QS per GROUP, as a subquery of the outer Fan row (0 when none)."""
    return Coalesce(
        Subquery(qs.order_by().values(group).annotate(n=Count("pk")).values("n")[:1]), 0
    )


def top_sharers(*, limit: int = 50) -> list[TopSharer]:
    """The shop's sharers by new buyers brought, then visits (one statement). Masked: the list
    shows who spreads the word, it is not for contacting them."""
    new_buyers = Order.objects.filter(
        ~_earlier_paid(), status=Order.Status.PAID, share_link__sharer_id=OuterRef("pk")
    ).exclude(fan_id=OuterRef("pk"))
    rewards = CouponClaim.objects.filter(
        fan_id=OuterRef("pk"), source=REWARD_SOURCE, coupon__purpose=Coupon.Purpose.SHARE_REWARD
    )
    links = ShareLink.objects.filter(sharer_id=OuterRef("pk"))
    visits = Subquery(
        links.order_by().values("sharer_id").annotate(v=Sum("visits")).values("v")[:1]
    )
    fans = (
        Fan.objects.filter(Exists(links))
        .annotate(
            n_links=_count(links, "sharer_id"),
            n_visits=Coalesce(visits, 0),
            n_new_buyers=_count(new_buyers, "share_link__sharer_id"),
            n_rewards=_count(rewards, "fan_id"),
        )
        .order_by("-n_new_buyers", "-n_visits", "pk")[:limit]
    )
    return [
        TopSharer(
            who=mask_fan(fan),
            links=fan.n_links,
            visits=fan.n_visits,
            new_buyers=fan.n_new_buyers,
            rewards=fan.n_rewards,
        )
        for fan in fans
    ]
