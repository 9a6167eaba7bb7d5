"""Platform coupons: what storefront asks at checkout, and what staff do in the console.

Checkout (storefront, C1) calls, in this order:
- `platform_coupon_offer` — what a code would take off the goods now in this shop, or None;
- `platform_coupon_hold` inside `order_place`'s transaction — takes the amount from the budget
  with one checked UPDATE (`spent_fen + amount <= budget_fen`), so concurrent checkouts never
  overspend it; idempotent per (tenant, order);
- `platform_coupon_confirm` when the order is paid (HELD → USED);
- `platform_coupon_release` when an unpaid order expires or is cancelled, or after a full
  refund: the amount goes back to the budget exactly once.

Staff (console): `platform_coupon_create`, `platform_coupon_pause`, `platform_coupon_resume`,
`platform_coupon_end`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.discounts import coupon_off_fen

from .models import PlatformCoupon, PlatformCouponUse

CODE_RE = re.compile(r"^[A-Z0-9]{4,16}$")


@dataclass(frozen=True)
class PlatformOffer:
    """What a platform coupon would take off an order's goods now (the platform pays it)."""

    coupon_id: int
    code: str
    name: str
    amount_fen: int


def code_normalise(code: str) -> str:
    """What a buyer typed ("  vip2026 ") as stored ("VIP2026"); "" when it cannot be a code."""
    code = (code or "").strip().upper()
    return code if CODE_RE.match(code) else ""


def platform_coupon_amount(*, coupon: PlatformCoupon, goods_fen: int) -> int:
    """What COUPON takes off GOODS_FEN of goods, before the budget: 0 when it does not apply.

    The buyer always pays at least one fen of goods: a payment of ¥0 is not a payment any
    provider takes, and a coupon is a discount, not a gift of the goods.
    """
    if goods_fen <= 1:
        return 0
    off = coupon_off_fen(
        kind=coupon.kind,
        goods_fen=goods_fen,
        amount_fen=coupon.amount_fen or 0,
        percent_off=coupon.percent_off,
        max_off_fen=coupon.max_off_fen,
        min_goods_fen=coupon.min_goods_fen,
    )
    return max(min(off, goods_fen - 1), 0)


def _live(now: datetime) -> Q:
    return Q(status=PlatformCoupon.Status.ACTIVE, starts_at__lte=now, ends_at__gt=now)


def _for_shop(tenant_id: int) -> Q:
    return Q(all_shops=True) | Q(shops__id=tenant_id)


def platform_coupon_offer(*, tenant_id: int, code: str, goods_fen: int) -> PlatformOffer | None:
    """What the platform coupon CODE would take off GOODS_FEN in shop TENANT_ID now.

    None when the code is unknown, not for this shop, outside its window, paused or ended, the
    goods miss its minimum, or what is left of its budget cannot pay this discount.
    """
    code = code_normalise(code)
    if not code or goods_fen <= 0:
        return None
    now = timezone.now()
    coupon = (
        PlatformCoupon.objects.filter(_live(now) & _for_shop(tenant_id), code=code)
        .distinct()
        .first()
    )
    if coupon is None:
        return None
    amount = platform_coupon_amount(coupon=coupon, goods_fen=goods_fen)
    if amount <= 0 or amount > coupon.budget_fen - coupon.spent_fen:
        return None
    return PlatformOffer(coupon_id=coupon.pk, code=coupon.code, name=coupon.name, amount_fen=amount)


def platform_coupon_hold(
    *, coupon_id: int, tenant_id: int, order_number: str, amount_fen: int
) -> None:
    """Take AMOUNT_FEN from the coupon's budget for the order (TENANT_ID, ORDER_NUMBER).

    Called inside order_place's transaction: if the order is rolled back, so is the hold.
    Idempotent: a second hold for the same order changes nothing. ValidationError ("优惠券已抢完",
    in the buyer's language) when the budget cannot pay it or the coupon stopped applying.
    """
    if amount_fen <= 0 or not order_number:
        raise ValidationError(_("This coupon cannot be used for this order."), code="invalid")
    now = timezone.now()
    try:
        with transaction.atomic():
            # The use row first: a concurrent hold of the same order waits on its unique key
            # and then finds it (no double spend); the budget is only touched by the winner.
            use, created = PlatformCouponUse.objects.get_or_create(
                coupon_id=coupon_id,
                tenant_id=tenant_id,
                order_number=order_number,
                defaults={"amount_fen": amount_fen},
            )
            if not created:
                if use.status == PlatformCouponUse.Status.RELEASED:
                    raise ValidationError(
                        _("This coupon was given back for this order."), code="released"
                    )
                return
            if not PlatformCoupon.objects.filter(_for_shop(tenant_id), pk=coupon_id).exists():
                raise ValidationError(_("This coupon cannot be used in this shop."), code="shop")
            # One checked UPDATE on the coupon row alone (no join: PostgreSQL re-checks a
            # plain WHERE against the newest row after waiting for its lock, so each hold
            # sees the last committed spent_fen): the budget is never overspent by one fen.
            taken = PlatformCoupon.objects.filter(
                _live(now), pk=coupon_id, spent_fen__lte=F("budget_fen") - amount_fen
            ).update(spent_fen=F("spent_fen") + amount_fen)
            if taken != 1:
                raise ValidationError(_("This coupon has run out."), code="sold_out")
    except IntegrityError as exc:
        # Unknown coupon or shop id (a foreign key), never a 500 further up.
        raise ValidationError(
            _("This coupon cannot be used for this order."), code="invalid"
        ) from exc


def platform_coupon_release(*, tenant_id: int, order_number: str) -> None:
    """Give back to the budget what the order (TENANT_ID, ORDER_NUMBER) took: once, ever.

    For an unpaid order that expired or was cancelled, and after a full refund. Idempotent: a
    released use is not released again, so repeats and races give back nothing more.
    """
    with transaction.atomic():
        uses = list(
            PlatformCouponUse.objects.select_for_update()
            .filter(
                tenant_id=tenant_id,
                order_number=order_number,
                status__in=[PlatformCouponUse.Status.HELD, PlatformCouponUse.Status.USED],
            )
            .order_by("pk")
        )
        for use in uses:
            PlatformCouponUse.objects.filter(pk=use.pk).update(
                status=PlatformCouponUse.Status.RELEASED, updated_at=timezone.now()
            )
            PlatformCoupon.objects.filter(pk=use.coupon_id).update(
                spent_fen=F("spent_fen") - use.amount_fen
            )


def platform_coupon_confirm(*, tenant_id: int, order_number: str) -> None:
    """The order was paid: its held uses become USED (idempotent; released ones stay released)."""
    PlatformCouponUse.objects.filter(
        tenant_id=tenant_id, order_number=order_number, status=PlatformCouponUse.Status.HELD
    ).update(status=PlatformCouponUse.Status.USED, updated_at=timezone.now())


# --- staff -------------------------------------------------------------------------------------


def platform_coupon_create(
    *,
    name: str,
    code: str,
    kind: str,
    budget_fen: int,
    starts_at: datetime,
    ends_at: datetime,
    amount_fen: int = 0,
    percent_off: int | None = None,
    max_off_fen: int | None = None,
    min_goods_fen: int = 0,
    all_shops: bool = True,
    shop_ids: list[int] | None = None,
    created_by: Any = None,
) -> PlatformCoupon:
    """A new ACTIVE platform coupon; ValidationError with a clear message for bad terms."""
    normalised = code_normalise(code)
    if not normalised:
        raise ValidationError({"code": _("A code is 4 to 16 letters A–Z or digits.")}, code="code")
    errors: dict[str, str] = {}
    if kind == PlatformCoupon.Kind.PERCENT:
        if percent_off is None or not 1 <= percent_off <= 99:
            errors["percent_off"] = _("A percentage from 1 to 99.")
        amount_fen = 0
    elif kind in (PlatformCoupon.Kind.FIXED, PlatformCoupon.Kind.THRESHOLD):
        if amount_fen <= 0:
            errors["amount_fen"] = _("Enter the amount off.")
        percent_off = None
        max_off_fen = None
        if kind == PlatformCoupon.Kind.THRESHOLD and min_goods_fen <= amount_fen:
            errors["min_goods_fen"] = _("The minimum order must be more than the amount off.")
    else:
        errors["kind"] = _("Choose a kind of coupon.")
    if budget_fen <= 0:
        errors["budget_fen"] = _("Enter a budget.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if not all_shops and not shop_ids:
        errors["shops"] = _("Choose at least one shop, or every shop.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if PlatformCoupon.objects.filter(code=normalised).exists():
            raise ValidationError({"code": _("This code is already taken.")}, code="taken")
        try:
            with transaction.atomic():
                coupon = PlatformCoupon.objects.create(
                    name=name,
                    code=normalised,
                    kind=kind,
                    amount_fen=amount_fen,
                    percent_off=percent_off,
                    max_off_fen=max_off_fen,
                    min_goods_fen=min_goods_fen,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    all_shops=all_shops,
                    budget_fen=budget_fen,
                    created_by=created_by,
                )
        except IntegrityError as exc:  # a concurrent create of the same code
            raise ValidationError({"code": _("This code is already taken.")}) from exc
        if not all_shops and shop_ids:
            coupon.shops.set(shop_ids)
    return coupon


def _status_set(*, coupon: PlatformCoupon, to: str, allowed_from: list[str]) -> bool:
    changed = PlatformCoupon.objects.filter(pk=coupon.pk, status__in=allowed_from).update(status=to)
    coupon.refresh_from_db(fields=["status"])
    return changed == 1


def platform_coupon_pause(*, coupon: PlatformCoupon) -> None:
    """No new holds until resumed; orders already holding it keep their discount."""
    if not _status_set(
        coupon=coupon, to=PlatformCoupon.Status.PAUSED, allowed_from=[PlatformCoupon.Status.ACTIVE]
    ):
        raise ValidationError(_("Only an active coupon can be paused."), code="state")


def platform_coupon_resume(*, coupon: PlatformCoupon) -> None:
    if not _status_set(
        coupon=coupon, to=PlatformCoupon.Status.ACTIVE, allowed_from=[PlatformCoupon.Status.PAUSED]
    ):
        raise ValidationError(_("Only a paused coupon can be resumed."), code="state")


def platform_coupon_end(*, coupon: PlatformCoupon) -> None:
    """For good: an ended coupon never applies again (held orders keep theirs)."""
    if not _status_set(
        coupon=coupon,
        to=PlatformCoupon.Status.ENDED,
        allowed_from=[PlatformCoupon.Status.ACTIVE, PlatformCoupon.Status.PAUSED],
    ):
        raise ValidationError(_("This coupon has already ended."), code="state")
