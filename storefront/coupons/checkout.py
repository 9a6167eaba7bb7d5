"""Which coupons an order takes: what the checkout page shows and `order_place` then keeps.

At most one creator coupon and one platform coupon per order. The creator coupon is, in this
order: the one whose code the buyer typed; the claim of her wallet she chose; else the best of
her wallet (the largest saving; ties: the one ending first). A typed code that is not this
shop's coupon is tried as a platform coupon (billing.coupons), applied after the creator's.

Her wallet is used only when she is signed in (VERIFIED): a mobile number typed into the
checkout form proves nothing, and must not let anyone spend another person's coupons. A typed
code works for anyone and is claimed for the order's fan when the order is placed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from billing.coupons.services import PlatformOffer, platform_coupon_offer
from core.shop import current_shop_id
from storefront.models import Fan, ListingItem
from storefront.pricing import CampaignPrice, CouponTerms, Funder, PricedCart, lines_price

from .models import Coupon, CouponClaim
from .selectors import fan_claims_usable
from .services import (
    code_normalise,
    coupon_by_code,
    coupon_live_problem,
    coupon_terms,
    fan_is_new_buyer,
)

AUTO = "auto"  # the best coupon of her wallet
NONE = "none"  # no creator coupon
CODE = "code"  # the typed code's coupon
CODE_INPUT_MAX = 64


@dataclass(frozen=True)
class CouponAsk:
    """What the buyer asked for: CHOICE is AUTO, NONE or the id of a claim in her wallet;
    CODE is what she typed in the code field (a creator or a platform coupon)."""

    choice: str = AUTO
    code: str = ""


@dataclass(frozen=True)
class CouponOption:
    """A claim of her wallet that applies to this order, and what it would take off."""

    claim: CouponClaim
    saving_fen: int

    @property
    def value(self) -> str:
        return str(self.claim.pk)


@dataclass
class CouponPlan:
    priced: PricedCart
    coupon: Coupon | None = None  # the creator coupon taken
    claim: CouponClaim | None = None  # its claim; None: a typed code, claimed when placing
    creator_fen: int = 0
    platform: PlatformOffer | None = None
    platform_fen: int = 0
    options: list[CouponOption] = field(default_factory=list)
    chosen: str = NONE  # the checkout's radio: a claim id, CODE or NONE
    problem: str = ""  # why what she asked for was not applied

    @property
    def saving_fen(self) -> int:
        return self.creator_fen + self.platform_fen


def _platform_terms(offer: PlatformOffer) -> CouponTerms:
    return CouponTerms(
        source=f"platform:{offer.code}",
        funded_by=Funder.PLATFORM,
        kind="fixed",
        amount_fen=offer.amount_fen,
    )


def coupons_plan(
    *,
    items: Mapping[int, ListingItem],
    quantities: Mapping[int, int],
    fan: Fan | None,
    verified: bool,
    ask: CouponAsk,
    campaigns: Mapping[int, CampaignPrice] | None = None,
) -> CouponPlan:
    """Price the order with the coupons it takes (see the module's docstring); CAMPAIGNS: the
    campaign prices of its lines (pricing's step 2)."""

    def priced(*terms: CouponTerms) -> PricedCart:
        return lines_price(items=items, quantities=quantities, coupons=terms, campaigns=campaigns)

    new_buyer: list[bool] = []

    def is_new() -> bool:
        if not new_buyer:
            new_buyer.append(fan_is_new_buyer(fan=fan))
        return new_buyer[0]

    plan = CouponPlan(priced=priced())
    options: list[CouponOption] = []
    priced_of: dict[int, PricedCart] = {}
    seen: set[int] = set()
    wallet = fan_claims_usable(fan=fan) if fan is not None and verified else []
    for claim in wallet:
        coupon = claim.coupon
        if coupon.pk in seen or (coupon.new_buyers_only and not is_new()):
            continue
        seen.add(coupon.pk)
        with_it = priced(coupon_terms(coupon))
        saving = with_it.discount_fen(funder=Funder.CREATOR)
        if saving > 0:
            options.append(CouponOption(claim=claim, saving_fen=saving))
            priced_of[claim.pk] = with_it
    options.sort(key=lambda o: (-o.saving_fen, o.claim.coupon.ends_at, o.claim.pk))
    plan.options = options

    def take(option: CouponOption) -> None:
        plan.coupon, plan.claim = option.claim.coupon, option.claim
        plan.priced = priced_of[option.claim.pk]
        plan.creator_fen, plan.chosen = option.saving_fen, option.value

    raw = ask.code if isinstance(ask.code, str) else ""
    code = code_normalise(raw)
    platform_code = ""
    typed_taken = False
    if raw.strip() and not code:
        plan.problem = _("A coupon code is 4 to 16 letters and digits.")
    elif code:
        typed = coupon_by_code(code=code)
        if typed is None:
            platform_code = code
        else:
            mine = next((o for o in options if o.claim.coupon_id == typed.pk), None)
            if mine is not None:
                take(mine)
                typed_taken = True
            elif any(claim.coupon_id == typed.pk for claim in wallet):
                plan.problem = _not_applicable()
            else:
                plan.problem = _typed_problem(typed, fan=fan, verified=verified, is_new=is_new)
                if not plan.problem:
                    with_it = priced(coupon_terms(typed))
                    saving = with_it.discount_fen(funder=Funder.CREATOR)
                    if saving > 0:
                        plan.coupon, plan.claim, plan.priced = typed, None, with_it
                        plan.creator_fen, plan.chosen = saving, CODE
                        typed_taken = True
                    else:
                        plan.problem = _not_applicable()
    if not typed_taken:
        choice = ask.choice if isinstance(ask.choice, str) else AUTO
        if choice == NONE:
            pass
        elif choice in (AUTO, CODE) or not choice.isdigit() or len(choice) > 18:
            if options:
                take(options[0])
        else:
            chosen = next((o for o in options if o.value == choice), None)
            if chosen is None:
                plan.problem = plan.problem or _(
                    "The coupon you chose cannot be used for this order any more."
                )
                if options:
                    take(options[0])
            else:
                take(chosen)
    if platform_code:
        offer = platform_coupon_offer(
            tenant_id=current_shop_id(), code=platform_code, goods_fen=plan.priced.goods_fen
        )
        if offer is None:
            plan.problem = _("No coupon with this code can be used in this shop now.")
        else:
            terms = [_platform_terms(offer)]
            if plan.coupon is not None:
                terms.insert(0, coupon_terms(plan.coupon))
            with_both = priced(*terms)
            plan.platform = offer
            plan.platform_fen = with_both.discount_fen(funder=Funder.PLATFORM)
            plan.priced = with_both
    return plan


def _not_applicable() -> str:
    return _(
        "This coupon does not apply to these goods (check its minimum spend and the goods it "
        "is for)."
    )


def _typed_problem(
    coupon: Coupon, *, fan: Fan | None, verified: bool, is_new: Callable[[], bool]
) -> str:
    """Why the buyer cannot take COUPON (typed as a code) for this order now; "" if she can."""
    if coupon.purpose != Coupon.Purpose.PUBLIC:
        return _("This coupon is given only as a reward for sharing.")
    problem = coupon_live_problem(coupon)
    if problem:
        return problem
    if coupon.total_limit is not None and coupon.claimed_count >= coupon.total_limit:
        return _("Sorry, all these coupons have been claimed.")
    if coupon.new_buyers_only and fan is not None and not is_new():
        return _("This coupon is for a first order in this shop only.")
    if fan is not None:
        claims = CouponClaim.objects.filter(coupon=coupon, fan=fan)
        if claims.count() >= coupon.per_fan_limit:
            if not verified and claims.filter(state=CouponClaim.State.AVAILABLE).exists():
                return _("You already have this coupon: sign in to use it.")
            return _("You have already used this coupon (at most %(n)d per person).") % {
                "n": coupon.per_fan_limit
            }
    return ""
