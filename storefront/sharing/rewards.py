"""Rewards for sharing (writes): the rule check of a shop's share reward, and granting it.

Single level, coupons only (禁止传销条例 art. 7; the rule in storefront/README.md, "sharing/").
A sharer is rewarded for the new buyer her own link brought, with the shop's share-reward coupon,
once that buyer's order can no longer be returned. There is no field, setting or argument that
names anyone else: the order's share link names its one sharer, and the reward goes to her.
Who brought the sharer is never looked up, so nothing can reward a second level.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront.coupons.models import Coupon
from storefront.coupons.services import coupon_grant
from storefront.models import Fan, Order

from . import selectors
from .selectors import REWARD_HORIZON, REWARD_SOURCE, Why

logger = logging.getLogger(__name__)

# The monthly cap a creator may set: at least one reward, and few enough that bringing
# "friends" never becomes a trade.
REWARD_CAP_MIN = 1
REWARD_CAP_MAX = 50


def share_reward_check(*, coupon: Any) -> None:
    """Refuse a share reward that is not a plain coupon of this shop, single level.

    A reward is a SHARE_REWARD coupon and nothing else: never cash, never a share of anyone's
    sales, never anything for the sharer's own sharer (no such field exists; a value that is not
    a Coupon, e.g. a cash amount or a commission rate, is refused here). Its monthly cap is
    REWARD_CAP_MIN–REWARD_CAP_MAX, and at most one share reward is active at a time. Raises
    ValidationError with the reason; the coupon admin and the granting run both call it.
    """
    if not isinstance(coupon, Coupon):
        raise ValidationError(
            _("A reward for sharing can only be a coupon of this shop: never cash or commission."),
            code="not_a_coupon",
        )
    if coupon.purpose != Coupon.Purpose.SHARE_REWARD:
        raise ValidationError(
            _("Only a coupon meant as a reward for sharing can reward sharers."),
            code="not_a_share_reward",
        )
    if coupon.kind not in (Coupon.Kind.FIXED, Coupon.Kind.PERCENT, Coupon.Kind.THRESHOLD):
        raise ValidationError(_("A reward for sharing must be a discount coupon."), code="kind")
    cap = coupon.reward_monthly_cap
    if cap is None or not REWARD_CAP_MIN <= cap <= REWARD_CAP_MAX:
        raise ValidationError(
            _("Rewards per sharer and month must be between %(low)s and %(high)s.")
            % {"low": REWARD_CAP_MIN, "high": REWARD_CAP_MAX},
            code="cap",
        )
    if coupon.status == Coupon.Status.ACTIVE:
        others = Coupon.objects.filter(
            purpose=Coupon.Purpose.SHARE_REWARD, status=Coupon.Status.ACTIVE
        ).exclude(pk=coupon.pk)
        if others.exists():
            raise ValidationError(
                _("Only one reward for sharing can be active: pause or end the other one first."),
                code="one_active",
            )


def share_reward_grant_one(*, order: Order, coupon: Coupon, now: datetime) -> bool:
    """Grant ORDER's sharer her reward if it is due; True when granted. Safe to repeat and to
    run twice at once: the sharer's row is locked while her reward is checked and given, so one
    order earns one claim and a month never passes its cap."""
    assert order.share_link is not None
    with transaction.atomic():
        sharer = Fan.objects.select_for_update().get(pk=order.share_link.sharer_id)
        rewarded = (
            selectors.reward_claims(fan_id=sharer.pk)
            .filter(reward_order_number=order.number)
            .exists()
        )
        window = selectors.order_windows(order_numbers=[order.number]).get(order.number)
        verdict = selectors.order_verdict(
            order=order,
            window=window,
            rewarded=rewarded,
            coupon=coupon,
            since=selectors.rewards_since(),
            sharer_ids=selectors.sharer_identities(fan=sharer),
            month_count=selectors.rewards_in_month(fan_id=sharer.pk, at=order.paid_at or now),
            now=now,
        )
        if verdict.why != Why.DUE:
            return False
        coupon_grant(
            coupon=coupon, fan=sharer, source=REWARD_SOURCE, reward_order_number=order.number
        )
    logger.info("share reward %s for order %s to fan %s", coupon.code, order.number, sharer.pk)
    return True


def share_rewards_grant(*, now: datetime | None = None) -> int:
    """Grant every reward this shop owes its sharers now; returns how many were granted.

    The shop's reward coupon is checked first (share_reward_check): a configuration the rule
    refuses grants nothing. Orders are taken oldest first, so when a month's cap is reached the
    friends who bought first are the ones rewarded. A coupon that cannot be given (sold out,
    paused meanwhile) stops the run; the orders stay owed and a later run gives them.
    """
    now = now or timezone.now()
    coupon = selectors.share_reward_coupon()
    if coupon is None:
        return 0
    try:
        share_reward_check(coupon=coupon)
    except ValidationError as exc:
        logger.error("share reward %s refused, nothing granted: %s", coupon.code, exc.messages)
        return 0
    since = selectors.rewards_since()
    start = max(since, now - REWARD_HORIZON) if since else now - REWARD_HORIZON
    already = selectors.rewarded_order_numbers()
    candidates = (
        selectors.brought_orders(new_only=True)
        .filter(paid_at__gte=start)
        .exclude(number__in=already)
    )
    granted = 0
    for chunk in _chunks(list(candidates), 200):
        # Most brought orders wait for their parcels: billing's view of a whole chunk (three
        # queries) leaves only those whose windows have closed for the locked check.
        windows = selectors.order_windows(order_numbers=[o.number for o in chunk])
        for order in chunk:
            window = windows.get(order.number)
            if not _window_passed(window, now):
                continue
            try:
                granted += share_reward_grant_one(order=order, coupon=coupon, now=now)
            except ValidationError as exc:
                logger.warning("share reward %s not given: %s", coupon.code, exc.messages)
                return granted
    return granted


def _window_passed(window: selectors.Window | None, now: datetime) -> bool:
    return (
        window is not None
        and window.delivered
        and not window.refunded
        and not window.return_open
        and window.closes_at is not None
        and window.closes_at <= now
    )


def _chunks(items: list[Order], size: int) -> list[list[Order]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
