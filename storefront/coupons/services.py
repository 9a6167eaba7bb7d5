"""A shop's coupons: the creator's writes, fans' claims, and their use by orders.

Limits hold under concurrency because every count is changed by one checked UPDATE (a claim:
`claimed_count < total_limit`; a use: the claim's state AVAILABLE → HELD) and the per-fan limit
is counted under the fan's row lock (the same lock `order_place` takes first), so two tabs of one
fan, or fifty fans at once, are counted one after another. The database's CHECK constraints
(storefront.coupons.models) refuse whatever would still slip past.

Lock order, everywhere: the fan's row, then (order_place) the SKUs' rows, then the coupon's row,
then a platform coupon's row — never the other way round, so no deadlock.

Callers run these inside the shop's schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.coupons.selectors import platform_code_taken
from core.money import FEN_MAX, yuan
from core.text import text_problem
from storefront.models import Fan, Listing, Order
from storefront.pricing import CouponTerms, Funder, coupon_nominal_fen, lines_price

from .models import Coupon, CouponClaim, CouponRedemption

CODE_RE = re.compile(r"[A-Z0-9]{4,16}")
SOURCES = frozenset({"product", "article", "link", "code", "reward", "checkout"})
PER_FAN_MAX = 99
REWARD_CAP_MAX = 31

_FIELDS = (
    "name",
    "kind",
    "amount_fen",
    "percent_off",
    "max_off_fen",
    "min_goods_fen",
    "scope",
    "starts_at",
    "ends_at",
    "total_limit",
    "per_fan_limit",
    "new_buyers_only",
    "allow_with_campaign",
    "purpose",
    "reward_monthly_cap",
)


def code_normalise(code: object) -> str:
    """What a buyer typed ("  vip2026 ") as stored ("VIP2026"); "" when it cannot be a code.

    Anything else (a NUL, 10 KB, another type) is simply not a code: never an error page.
    """
    if not isinstance(code, str) or len(code) > 64:
        return ""
    code = code.strip().upper()
    return code if CODE_RE.fullmatch(code) else ""


def coupon_by_code(*, code: str) -> Coupon | None:
    """This shop's coupon with CODE (as typed), or None. Another shop's codes are unknown here:
    coupons live in the shop's own schema."""
    code = code_normalise(code)
    return Coupon.objects.filter(code=code).first() if code else None


# --- the creator's writes -------------------------------------------------------------------


def _int(value: object, *, field: str, low: int, high: int, null: bool = False) -> int | None:
    if value is None and null:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            {
                field: _("Enter a whole number from %(low)s to %(high)s.")
                % {"low": low, "high": high}
            },
            code="number",
        )
    return value


def _validate(c: Coupon, listing_ids: Sequence[int] | None) -> None:
    """The rules a coupon must keep, with messages a creator understands (zh-hans first)."""
    errors: dict[str, str] = {}
    name = c.name.strip() if isinstance(c.name, str) else ""
    problem = text_problem(name) if name else _("Give the coupon a name.")
    if problem:
        errors["name"] = problem
    elif len(name) > 60:
        errors["name"] = _("At most 60 characters.")
    c.name = name
    code = code_normalise(c.code)
    if not code:
        errors["code"] = _("A code is 4 to 16 letters A–Z and digits.")
    c.code = code or c.code
    if c.kind not in Coupon.Kind.values:
        errors["kind"] = _("Choose the kind of coupon.")
    if c.scope not in Coupon.Scope.values:
        errors["scope"] = _("Choose what the coupon is valid on.")
    if c.purpose not in Coupon.Purpose.values:
        errors["purpose"] = _("Choose who may get the coupon.")
    if errors:
        raise ValidationError(errors)
    _int(c.min_goods_fen, field="min_goods_fen", low=0, high=FEN_MAX)
    if c.kind == Coupon.Kind.PERCENT:
        _int(c.percent_off, field="percent_off", low=1, high=99)
        _int(c.max_off_fen, field="max_off_fen", low=1, high=FEN_MAX, null=True)
        c.amount_fen = 0
    else:
        _int(c.amount_fen, field="amount_fen", low=1, high=FEN_MAX)
        c.percent_off = None
        c.max_off_fen = None
        if c.kind == Coupon.Kind.THRESHOLD and c.min_goods_fen <= c.amount_fen:
            raise ValidationError(
                {"min_goods_fen": _("The minimum spend must be more than the amount off.")},
                code="threshold",
            )
    _int(c.total_limit, field="total_limit", low=1, high=FEN_MAX, null=True)
    _int(c.per_fan_limit, field="per_fan_limit", low=1, high=PER_FAN_MAX)
    _int(c.reward_monthly_cap, field="reward_monthly_cap", low=1, high=REWARD_CAP_MAX)
    if not isinstance(c.starts_at, datetime) or not isinstance(c.ends_at, datetime):
        raise ValidationError({"ends_at": _("Give the start and the end.")}, code="window")
    if c.ends_at <= c.starts_at:
        raise ValidationError({"ends_at": _("The end must come after the start.")}, code="window")
    if c.scope == Coupon.Scope.LISTINGS and not listing_ids:
        raise ValidationError({"listings": _("Choose the goods the coupon is for.")})
    if c.total_limit is not None and c.total_limit < c.claimed_count:
        raise ValidationError(
            {
                "total_limit": _("%(n)d are claimed already: the total cannot be lower.")
                % {"n": c.claimed_count}
            },
            code="total_limit",
        )
    _creator_cap_check(c, listing_ids if c.scope == Coupon.Scope.LISTINGS else None)


def _creator_cap_check(c: Coupon, listing_ids: Sequence[int] | None) -> None:
    """Refuse a coupon that would take more off the smallest order it applies to than her
    commission on that order: checkout would cap it every time, so it could never be what it
    says. The smallest order: one unit of the cheapest item in scope, or as many units of it
    as the minimum spend needs (priced by the pricing seam, as checkout would)."""
    from .selectors import cheapest_in_scope, commission_fen

    cheapest = cheapest_in_scope(listing_ids=listing_ids)
    if cheapest is None:
        return
    units = max(1, -(-c.min_goods_fen // cheapest.retail_price_fen))
    goods = lines_price(items={cheapest.pk: cheapest}, quantities={cheapest.pk: units}).goods_fen
    saving = coupon_nominal_fen(_terms(c, listing_ids=None), goods)
    commission = commission_fen(item=cheapest, quantity=units)
    if saving > commission:
        raise ValidationError(
            {
                "amount_fen" if c.kind != Coupon.Kind.PERCENT else "percent_off": _(
                    "You pay for this coupon out of your commission, and on the smallest order "
                    "it applies to (%(goods)s of %(title)s) your commission is %(cap)s. Take "
                    "off at most %(cap)s, or raise the minimum spend."
                )
                % {"goods": yuan(goods), "title": cheapest.listing.title, "cap": yuan(commission)}
            },
            code="over_commission",
        )


def _listings_of(listings: Iterable[Listing | int] | None) -> list[int]:
    ids = []
    for listing in listings or ():
        pk = listing.pk if isinstance(listing, Listing) else listing
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise ValidationError({"listings": _("Choose the goods the coupon is for.")})
        ids.append(pk)
    if ids and Listing.objects.filter(pk__in=ids).count() != len(set(ids)):
        raise ValidationError({"listings": _("Choose the goods the coupon is for.")})
    return sorted(set(ids))


@transaction.atomic
def coupon_create(
    *, code: str, listings: Iterable[Listing | int] | None = None, **fields: Any
) -> Coupon:
    """A new coupon of this shop; ValidationError (per field) when a rule is broken."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown coupon fields: {sorted(unknown)}")
    listing_ids = _listings_of(listings)
    coupon = Coupon(code=code, **fields)
    _validate(coupon, listing_ids)
    if Coupon.objects.filter(code=coupon.code).exists():
        raise ValidationError({"code": _("This code is taken. Choose another.")}, code="taken")
    if platform_code_taken(code=coupon.code):
        raise ValidationError(
            {"code": _("This code is one of the platform's coupons. Choose another.")},
            code="platform_code",
        )
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError as exc:  # a concurrent create took the code
        raise ValidationError(
            {"code": _("This code is taken. Choose another.")}, code="taken"
        ) from exc
    if coupon.scope == Coupon.Scope.LISTINGS:
        coupon.listings.set(listing_ids)
    return coupon


@transaction.atomic
def coupon_update(
    *, coupon: Coupon, listings: Iterable[Listing | int] | None = None, **fields: Any
) -> Coupon:
    """Change a coupon's terms. Once someone has claimed it, terms only change in fans'
    favour: the amount and the window may grow, limits may rise, nothing else moves."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown coupon fields: {sorted(unknown)}")
    locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if locked.status == Coupon.Status.ENDED:
        raise ValidationError(_("This coupon has ended and cannot be changed."), code="ended")
    before = Coupon.objects.get(pk=coupon.pk)
    before_listings = set(before.listings.values_list("pk", flat=True))
    for name, value in fields.items():
        setattr(locked, name, value)
    listing_ids = _listings_of(listings) if listings is not None else sorted(before_listings)
    _validate(locked, listing_ids)
    if before.claimed_count and not _only_in_fans_favour(
        before, locked, before_listings, listing_ids
    ):
        raise ValidationError(
            _(
                "Fans have claimed this coupon: its terms can now only get better for them "
                "(more off, a lower minimum spend, a longer window, more coupons)."
            ),
            code="claimed",
        )
    locked.save()
    locked.listings.set(listing_ids if locked.scope == Coupon.Scope.LISTINGS else [])
    coupon.refresh_from_db()
    return locked


def _only_in_fans_favour(
    old: Coupon, new: Coupon, old_listings: set[int], new_listings: Sequence[int]
) -> bool:
    same_kind = old.kind == new.kind and old.purpose == new.purpose
    scope_ok = new.scope == Coupon.Scope.SHOP or (
        old.scope == Coupon.Scope.LISTINGS and old_listings <= set(new_listings)
    )
    caps_ok = (old.max_off_fen is None and new.max_off_fen is None) or (
        old.max_off_fen is not None
        and (new.max_off_fen is None or new.max_off_fen >= old.max_off_fen)
    )
    return (
        same_kind
        and scope_ok
        and caps_ok
        and new.amount_fen >= old.amount_fen
        and (new.percent_off or 0) >= (old.percent_off or 0)
        and new.min_goods_fen <= old.min_goods_fen
        and new.starts_at <= old.starts_at
        and new.ends_at >= old.ends_at
        and (new.total_limit is None or (old.total_limit or 0) <= new.total_limit)
        and new.per_fan_limit >= old.per_fan_limit
        and (old.new_buyers_only or not new.new_buyers_only)
        and (new.allow_with_campaign or not old.allow_with_campaign)
    )


def _status_set(coupon: Coupon, to: str, allowed: set[str]) -> Coupon:
    done = Coupon.objects.filter(pk=coupon.pk, status__in=allowed).update(status=to)
    coupon.refresh_from_db(fields=["status"])
    if not done and coupon.status != to:
        raise ValidationError(_("This coupon cannot be changed that way now."), code="status")
    return coupon


def coupon_pause(*, coupon: Coupon) -> Coupon:
    """Stop claims and uses for now (held orders keep theirs until paid or expired)."""
    return _status_set(coupon, Coupon.Status.PAUSED, {Coupon.Status.ACTIVE})


def coupon_resume(*, coupon: Coupon) -> Coupon:
    return _status_set(coupon, Coupon.Status.ACTIVE, {Coupon.Status.PAUSED})


def coupon_end(*, coupon: Coupon) -> Coupon:
    """End for good: no more claims or new uses; claims in wallets stop being usable."""
    return _status_set(coupon, Coupon.Status.ENDED, {Coupon.Status.ACTIVE, Coupon.Status.PAUSED})


# --- claims -------------------------------------------------------------------------------


def coupon_live_problem(coupon: Coupon, *, now: datetime | None = None) -> str:
    """Why COUPON cannot be claimed or used now; "" when it can."""
    now = now or timezone.now()
    if coupon.status == Coupon.Status.ENDED or coupon.ends_at <= now:
        return _("This coupon has ended.")
    if coupon.status == Coupon.Status.PAUSED:
        return _("This coupon is paused by the shop.")
    if coupon.starts_at > now:
        return _("This coupon is not valid yet.")
    return ""


def _claim(*, coupon: Coupon, fan: Fan, source: str, reward_order_number: str = "") -> CouponClaim:
    if source not in SOURCES:
        raise ValueError(f"unknown claim source {source!r}")
    problem = coupon_live_problem(coupon)
    if problem:
        raise ValidationError(problem, code="not_live")
    with transaction.atomic():
        # The fan's row first (order_place takes it first too): her claims are counted one
        # after another, however many tabs claim at once.
        Fan.objects.select_for_update().filter(pk=fan.pk).first()
        if reward_order_number:
            existing = CouponClaim.objects.filter(
                coupon=coupon, reward_order_number=reward_order_number
            ).first()
            if existing is not None:  # granted already: a retried task grants nothing twice
                return existing
        elif CouponClaim.objects.filter(coupon=coupon, fan=fan).count() >= coupon.per_fan_limit:
            raise ValidationError(
                _("You have already claimed this coupon (at most %(n)d per person).")
                % {"n": coupon.per_fan_limit},
                code="per_fan_limit",
            )
        now = timezone.now()
        taken = (
            Coupon.objects.filter(
                pk=coupon.pk, status=Coupon.Status.ACTIVE, starts_at__lte=now, ends_at__gt=now
            )
            .filter(Q(total_limit__isnull=True) | Q(claimed_count__lt=F("total_limit")))
            .update(claimed_count=F("claimed_count") + 1)
        )
        if not taken:
            coupon.refresh_from_db()
            raise ValidationError(
                coupon_live_problem(coupon) or _("Sorry, all these coupons have been claimed."),
                code="sold_out",
            )
        return CouponClaim.objects.create(
            coupon=coupon, fan=fan, source=source, reward_order_number=reward_order_number
        )


def coupon_claim(*, coupon: Coupon, fan: Fan, source: str) -> CouponClaim:
    """Put COUPON in FAN's wallet (领券). ValidationError with the reason when it cannot be
    claimed: ended, paused, not started, all claimed, her limit reached, or a reward coupon
    (those are only given for sharing)."""
    if coupon.purpose != Coupon.Purpose.PUBLIC:
        raise ValidationError(
            _("This coupon is given only as a reward for sharing."), code="reward_only"
        )
    return _claim(coupon=coupon, fan=fan, source=source)


def coupon_grant(
    *, coupon: Coupon, fan: Fan, source: str = "reward", reward_order_number: str
) -> CouponClaim:
    """Give COUPON to FAN as a reward for the new buyer of REWARD_ORDER_NUMBER (once per order;
    a repeat returns the first claim). Respects the coupon's status, window and total."""
    if not reward_order_number:
        raise ValueError("a reward names the order that earned it")
    return _claim(coupon=coupon, fan=fan, source=source, reward_order_number=reward_order_number)


# --- use by orders -----------------------------------------------------------------------


def _terms(coupon: Coupon, *, listing_ids: frozenset[int] | None) -> CouponTerms:
    return CouponTerms(
        source=f"coupon:{coupon.code}",
        funded_by=Funder.CREATOR,
        kind=coupon.kind,
        amount_fen=coupon.amount_fen,
        percent_off=coupon.percent_off or 0,
        max_off_fen=coupon.max_off_fen,
        min_goods_fen=coupon.min_goods_fen,
        listing_ids=listing_ids,
        allow_with_campaign=coupon.allow_with_campaign,
    )


def coupon_terms(coupon: Coupon) -> CouponTerms:
    """COUPON as pricing takes it (creator-funded)."""
    listing_ids = None
    if coupon.scope == Coupon.Scope.LISTINGS:
        # .all(): the checkout prefetches the wallet's listings.
        listing_ids = frozenset(listing.pk for listing in coupon.listings.all())
    return _terms(coupon, listing_ids=listing_ids)


def fan_is_new_buyer(*, fan: Fan | None) -> bool:
    """No paid order of hers in this shop (a fan not known yet is new)."""
    return fan is None or not Order.objects.filter(fan=fan, paid_at__isnull=False).exists()


def coupon_hold(
    *, order: Order, claim: CouponClaim | None, coupon: Coupon, fan: Fan, amount_fen: int
) -> CouponRedemption:
    """Inside order_place's transaction (the fan's row locked): take CLAIM for ORDER, or a new
    claim (source "checkout") when the buyer typed the code and has none. Exactly one order can
    take a claim: the AVAILABLE → HELD update is checked."""
    if claim is None:
        claim = _claim(coupon=coupon, fan=fan, source="checkout")
    now = timezone.now()
    live = Coupon.objects.filter(
        pk=coupon.pk, status=Coupon.Status.ACTIVE, starts_at__lte=now, ends_at__gt=now
    ).update(redeemed_count=F("redeemed_count") + 1)
    taken = CouponClaim.objects.filter(
        pk=claim.pk, fan=fan, coupon=coupon, state=CouponClaim.State.AVAILABLE
    ).update(state=CouponClaim.State.HELD, order_number=order.number)
    if not live or not taken:
        raise ValidationError(
            _("This coupon was just used by another order or is no longer valid. Check out again."),
            code="coupon_taken",
        )
    return CouponRedemption.objects.create(
        coupon=coupon, claim=claim, order=order, amount_fen=amount_fen
    )


def coupons_release(*, order: Order) -> int:
    """Give ORDER's coupons back (it expired, was cancelled, or was fully refunded): each
    redemption RELEASED, its claim AVAILABLE in the fan's wallet again, the coupon's use count
    down. Idempotent: a redemption is released once. Returns how many were released."""
    released = 0
    with transaction.atomic():
        redemptions = list(
            CouponRedemption.objects.select_for_update()
            .filter(order=order)
            .exclude(status=CouponRedemption.Status.RELEASED)
            .order_by("coupon_id")
        )
        for redemption in redemptions:
            redemption.status = CouponRedemption.Status.RELEASED
            redemption.save(update_fields=["status", "updated_at"])
            Coupon.objects.filter(pk=redemption.coupon_id, redeemed_count__gt=0).update(
                redeemed_count=F("redeemed_count") - 1
            )
            if redemption.claim_id is not None:
                CouponClaim.objects.filter(
                    pk=redemption.claim_id,
                    state__in=[CouponClaim.State.HELD, CouponClaim.State.USED],
                    order_number=order.number,
                ).update(state=CouponClaim.State.AVAILABLE, order_number="")
            released += 1
    return released


def coupons_confirm(*, order: Order) -> None:
    """ORDER was paid: its held coupons are used (idempotent)."""
    CouponRedemption.objects.filter(order=order, status=CouponRedemption.Status.HELD).update(
        status=CouponRedemption.Status.USED, updated_at=timezone.now()
    )
    CouponClaim.objects.filter(order_number=order.number, state=CouponClaim.State.HELD).update(
        state=CouponClaim.State.USED
    )
