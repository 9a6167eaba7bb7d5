"""The creator API's campaigns (/api/v1/campaigns on the shop's host): flash sales, group buys
and price drops of this shop, read together; each kind created and stopped through its own
services (their rules, not copies), as the shop's admin does.

Reads need campaigns:read, writes campaigns:write (a campaign spends the shop's margin as a
coupon does, but a program trusted with coupons is not thereby trusted with stock and prices).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from billing.supplierapi.machinery import (
    ERRORS,
    READ_ERRORS,
    ApiError,
    ApiProblem,
    Cursor,
    Moment,
    SafeLine,
    django_errors,
    idempotency_doc,
)
from core.money import FEN_MAX
from storefront.flash import services as flash_services
from storefront.flash.kind import FlashKind
from storefront.flash.models import FlashGrab, FlashSale
from storefront.groupbuy import services as group_services
from storefront.groupbuy.models import GroupBuy, GroupMember
from storefront.groupbuy.selectors import live_of
from storefront.models import ListingItem
from storefront.pricedrop import services as drop_services
from storefront.pricedrop.kind import KIND as DROP
from storefront.pricedrop.models import PriceDrop

from .api import ShopAuth, _write

FLASH = FlashKind.kind  # "flash"
GROUP = group_services.KIND  # "group"
Kind = Literal["flash", "group", "drop"]
KINDS: tuple[str, ...] = (FLASH, GROUP, DROP)
# Ties of created_at are ordered by kind, then id (newest first throughout).
_RANK = {FLASH: 3, GROUP: 2, DROP: 1}

WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ApiError}

router = Router(tags=["campaigns"])


# --- input types ----------------------------------------------------------------------------


# The campaigns' cursor (see _cursor_encode): micros of created_at, kind's letter, id, in hex.
CURSOR_PATTERN = r"^[0-9a-f]{1,14}\.[fgd]\.[0-9a-f]{1,16}$"
ItemId = Annotated[int, Field(ge=1, le=2**62)]
Fen = Annotated[int, Field(ge=1, le=FEN_MAX)]


class FlashSaleIn(Schema):
    listing_item_id: ItemId
    title: SafeLine = Field("", max_length=60, description="empty: the listing's title")
    price_fen: Fen = Field(..., description="inside the supplier's bounds, at most the shop's")
    quantity: int = Field(..., ge=1, le=flash_services.QUANTITY_MAX)
    per_buyer_limit: int = Field(1, ge=1, le=flash_services.LIMIT_MAX)
    announce_at: Moment = Field(..., description="countdown and pre-registration from then")
    starts_at: Moment
    ends_at: Moment
    pay_minutes: int = Field(15, ge=1, le=flash_services.PAY_MINUTES_MAX)
    registered_only: bool = False


class TierIn(Schema):
    buyers: int = Field(..., ge=1, le=group_services.BUYERS_MAX)
    price_fen: Fen


class GroupBuyIn(Schema):
    listing_item_id: ItemId
    group_kind: Literal["tiered", "fixed"] = "tiered"
    title: SafeLine = Field("", max_length=60, description="empty: the listing's title")
    tiers: list[TierIn] = Field(
        ...,
        min_length=1,
        max_length=group_services.TIERS_MAX,
        description="from 1 buyer (the opening price) up; a fixed-size group has one",
    )
    ends_at: Moment = Field(..., description="the deadline (at most 60 days ahead)")
    quantity: int = Field(..., ge=1, le=100_000)
    min_buyers: int = Field(1, ge=1, le=group_services.BUYERS_MAX)
    per_fan_limit: int = Field(1, ge=1, le=10)
    allow_cancel: bool = False
    group_size: int | None = Field(None, ge=2, le=50, description="fixed-size groups only")
    lifetime_hours: int = Field(24, ge=1, le=72)
    new_buyers_only: bool = False


class PriceDropIn(Schema):
    listing_item_id: ItemId
    title: SafeLine = Field(..., min_length=1, max_length=60)
    start_price_fen: Fen
    step_fen: Fen = Field(..., description="what each counted share takes off")
    floor_fen: Fen
    quantity: int = Field(..., ge=1, le=drop_services.QUANTITY_MAX)
    per_fan_limit: int = Field(1, ge=1, le=drop_services.PER_FAN_MAX)
    starts_at: Moment
    ends_at: Moment


# --- output ---------------------------------------------------------------------------------


class FlashTerms(Schema):
    price_fen: int
    per_buyer_limit: int
    announce_at: datetime
    pay_minutes: int
    registered_only: bool
    registrations: int


class TierOut(Schema):
    buyers: int
    price_fen: int


class GroupTerms(Schema):
    group_kind: str
    tiers: list[TierOut]
    min_buyers: int
    per_fan_limit: int
    allow_cancel: bool
    group_size: int
    lifetime_hours: int
    new_buyers_only: bool
    buyers: int = Field(..., description="members who paid")
    price_fen: int = Field(..., description="what a buyer joining now pays")
    reached_fen: int = Field(..., description="the tier reached (the final price once closed)")


class DropTerms(Schema):
    start_price_fen: int
    step_fen: int
    floor_fen: int
    per_fan_limit: int
    price_fen: int = Field(..., description="the price now (start − step × counted shares)")
    counted_shares: int
    end_reason: str


class CampaignOut(Schema):
    kind: Kind
    id: int
    listing_id: int
    listing_item_id: int
    listing_title: str
    title: str
    status: str = Field(..., description="the kind's own states")
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    quantity: int = Field(..., description="units taken out of the supplier's stock")
    units_left: int = Field(..., description="units no buyer holds (0 once returned)")
    units_taken: int = Field(..., description="units held by buyers, paid or not")
    units_paid: int
    flash: FlashTerms | None = None
    group: GroupTerms | None = None
    drop: DropTerms | None = None


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


STATUSES = tuple(
    sorted(
        {*FlashSale.State.values, *GroupBuy.Status.values, *PriceDrop.Status.values},
    )
)


class CampaignFilter(Cursor):
    # This list's own cursor (time, kind and id of the last campaign shown), whole in the schema.
    cursor: str | None = Field(  # type: ignore[assignment]
        None, pattern=CURSOR_PATTERN, description="next_cursor of the page before"
    )
    kind: Kind | None = None
    status: Literal[STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="a kind's own state (kinds without it give none)"
    )


def _common(row: Any, *, kind: str, title: str, status: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": row.pk,
        "listing_id": row.item.listing_id,
        "listing_item_id": row.item_id,
        "listing_title": row.item.listing.title,
        "title": title,
        "status": status,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "created_at": row.created_at,
        "quantity": row.quantity,
    }


def _flash_out(sale: FlashSale) -> CampaignOut:
    paid = getattr(sale, "n_paid", None)
    if paid is None:
        paid = FlashGrab.objects.filter(sale=sale, status=FlashGrab.Status.PAID).count()
    return CampaignOut(
        **_common(sale, kind=FLASH, title=sale.display_title, status=sale.state),
        units_left=max(sale.quantity - sale.units_ordered - sale.units_returned, 0),
        units_taken=sale.units_ordered,
        units_paid=paid,
        flash=FlashTerms(
            price_fen=sale.price_fen,
            per_buyer_limit=sale.per_buyer_limit,
            announce_at=sale.announce_at,
            pay_minutes=sale.pay_minutes,
            registered_only=sale.registered_only,
            registrations=sale.registrations,
        ),
    )


_HELD = (GroupMember.Status.PENDING, GroupMember.Status.PAID, GroupMember.Status.SETTLED)
_PAID = (GroupMember.Status.PAID, GroupMember.Status.SETTLED)


def _group_units(campaign: GroupBuy) -> tuple[int, int]:
    taken = getattr(campaign, "n_taken", None)
    paid = getattr(campaign, "n_paid", None)
    if taken is None or paid is None:
        members = GroupMember.objects.filter(campaign=campaign)
        taken = members.filter(status__in=_HELD).aggregate(n=Sum("quantity"))["n"]
        paid = members.filter(status__in=_PAID).aggregate(n=Sum("quantity"))["n"]
    return int(taken or 0), int(paid or 0)


def _group_out(campaign: GroupBuy) -> CampaignOut:
    live = live_of(campaign)
    taken, paid = _group_units(campaign)
    return CampaignOut(
        **_common(campaign, kind=GROUP, title=campaign.title, status=campaign.status),
        units_left=campaign.units_left,
        units_taken=taken,
        units_paid=paid,
        group=GroupTerms(
            group_kind=campaign.kind,
            tiers=[TierOut(buyers=b, price_fen=p) for b, p in campaign.price_list],
            min_buyers=campaign.min_buyers,
            per_fan_limit=campaign.per_fan_limit,
            allow_cancel=campaign.allow_cancel,
            group_size=campaign.group_size,
            lifetime_hours=campaign.lifetime_hours,
            new_buyers_only=campaign.new_buyers_only,
            buyers=live.buyers,
            price_fen=live.price_fen,
            reached_fen=live.reached_fen,
        ),
    )


def _drop_out(campaign: PriceDrop) -> CampaignOut:
    standing = drop_services.pricedrop_standing(campaign=campaign)
    return CampaignOut(
        **_common(campaign, kind=DROP, title=campaign.title, status=campaign.status),
        units_left=standing.left if campaign.status != PriceDrop.Status.ENDED else 0,
        units_taken=campaign.units_taken,
        units_paid=campaign.units_paid,
        drop=DropTerms(
            start_price_fen=campaign.start_price_fen,
            step_fen=campaign.step_fen,
            floor_fen=campaign.floor_fen,
            per_fan_limit=campaign.per_fan_limit,
            price_fen=standing.price_fen,
            counted_shares=standing.counted,
            end_reason=campaign.end_reason,
        ),
    )


def _flash_rows() -> QuerySet[FlashSale]:
    return FlashSale.objects.select_related("item__listing").annotate(
        n_paid=Count("grabs", filter=Q(grabs__status=FlashGrab.Status.PAID))
    )


def _group_rows() -> QuerySet[GroupBuy]:
    return GroupBuy.objects.select_related("item__listing").annotate(
        n_taken=Sum("members__quantity", filter=Q(members__status__in=_HELD)),
        n_paid=Sum("members__quantity", filter=Q(members__status__in=_PAID)),
    )


def _drop_rows() -> QuerySet[PriceDrop]:
    return PriceDrop.objects.select_related("item__listing")


_SOURCES: dict[str, tuple[Callable[[], QuerySet[Any]], Callable[[Any], CampaignOut], str]] = {
    FLASH: (_flash_rows, _flash_out, "state"),
    GROUP: (_group_rows, _group_out, "status"),
    DROP: (_drop_rows, _drop_out, "status"),
}


# --- the cursor across kinds ------------------------------------------------------------------

_CURSOR = re.compile(r"([0-9a-f]{1,14})\.([fgd])\.([0-9a-f]{1,16})\Z")
_LETTER = {FLASH: "f", GROUP: "g", DROP: "d"}
_OF_LETTER = {v: k for k, v in _LETTER.items()}


def _cursor_encode(kind: str, row: Any) -> str:
    micros = int(row.created_at.timestamp() * 1_000_000)
    return f"{micros:x}.{_LETTER[kind]}.{row.pk:x}"


def _cursor_decode(text: str) -> tuple[datetime, str, int]:
    """(created_at, kind, id) of the last campaign of the page before; 422 when not ours."""
    match = _CURSOR.match(text)
    if match is None:
        raise ApiProblem(422, "invalid", "This cursor is not valid.", {"cursor": ["Not a cursor."]})
    micros, letter, pk = int(match[1], 16), match[2], int(match[3], 16)
    try:
        when = datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(
            microsecond=micros % 1_000_000
        )
    except (OverflowError, OSError, ValueError):
        raise ApiProblem(
            422, "invalid", "This cursor is not valid.", {"cursor": ["Not a cursor."]}
        ) from None
    return when, _OF_LETTER[letter], pk


def _after(qs: QuerySet[Any], *, kind: str, cursor: tuple[datetime, str, int]) -> QuerySet[Any]:
    """The rows of KIND that come after CURSOR in (created_at, kind, id), newest first."""
    when, last_kind, last_id = cursor
    older = Q(created_at__lt=when)
    if _RANK[kind] < _RANK[last_kind]:
        older |= Q(created_at=when)
    elif kind == last_kind:
        older |= Q(created_at=when, pk__lt=last_id)
    return qs.filter(older)


# --- reads ----------------------------------------------------------------------------------


@router.get(
    "/campaigns",
    response={200: CampaignPage, **READ_ERRORS},
    auth=ShopAuth("campaigns:read"),
    summary="Flash sales, group buys and price drops, newest first; cursor pages of up to 100",
)
def campaigns_list(request: HttpRequest, filters: Query[CampaignFilter]) -> Any:
    cursor = _cursor_decode(filters.cursor) if filters.cursor else None
    found: list[tuple[datetime, int, int, str, Any]] = []
    for kind in KINDS:
        if filters.kind and filters.kind != kind:
            continue
        rows, _out_of, status_field = _SOURCES[kind]
        qs = rows()
        if filters.status:
            qs = qs.filter(**{status_field: filters.status})
        if cursor is not None:
            qs = _after(qs, kind=kind, cursor=cursor)
        for row in qs.order_by("-created_at", "-pk")[: filters.limit + 1]:
            found.append((row.created_at, _RANK[kind], row.pk, kind, row))
    found.sort(key=lambda x: (x[0], x[1], x[2]), reverse=True)
    page = found[: filters.limit]
    nxt = _cursor_encode(page[-1][3], page[-1][4]) if len(found) > filters.limit else None
    return CampaignPage(items=[_SOURCES[k][1](row) for *_r, k, row in page], next_cursor=nxt)


def _campaign(kind: str, campaign_id: int) -> Any:
    """KIND's campaign CAMPAIGN_ID of this shop (404 for another kind, id or shop)."""
    if kind not in _SOURCES or not 1 <= campaign_id <= 2**62:
        raise ApiProblem(404, "not_found", "Not found.")
    row = _SOURCES[kind][0]().filter(pk=campaign_id).first()
    if row is None:
        raise ApiProblem(404, "not_found", "Not found.")
    return row


def _out(kind: str, row: Any) -> CampaignOut:
    return _SOURCES[kind][1](_campaign(kind, row.pk))


@router.get(
    "/campaigns/{kind}/{campaign_id}",
    response={200: CampaignOut, **READ_ERRORS},
    auth=ShopAuth("campaigns:read"),
    summary="One campaign (kind: flash, group or drop) with its terms and figures",
)
def campaign_detail(request: HttpRequest, kind: str, campaign_id: int) -> Any:
    row = _campaign(kind, campaign_id)
    return _SOURCES[kind][1](row)


# --- writes ---------------------------------------------------------------------------------


def _item(item_id: int) -> ListingItem:
    """An item of one of this shop's listings on sale (what the admin's forms offer)."""
    item = ListingItem.objects.select_related("listing", "sku").filter(pk=item_id).first()
    if item is None:
        raise ApiProblem(
            422, "invalid", "No such listing item.", {"listing_item_id": ["No such listing item."]}
        )
    if not item.listing.is_active:
        message = "This listing is off sale."
        raise ApiProblem(422, "invalid", message, {"listing_item_id": [message]})
    return item


# The services' names for what this API calls otherwise; a group buy's refusals carry a code.
_FIELDS = {"item": "listing_item_id"}
_GROUP_CODES = {
    "tiers": "tiers",
    "campaign_price_bounds": "tiers",
    "campaign_price_above_list": "tiers",
    "ends_at": "ends_at",
    "limit": "per_fan_limit",
    "group_size": "group_size",
    "lifetime_hours": "lifetime_hours",
    "min_buyers": "min_buyers",
    "quantity": "quantity",
    "stock": "quantity",
    "already_running": "listing_item_id",
    "kind": "group_kind",
}


def _refused(exc: ValidationError, codes: dict[str, str] | None = None) -> ApiProblem:
    """A service's ValidationError as the API's 422, by this API's field names."""
    if not hasattr(exc, "error_dict") and codes:
        errors: dict[str, list[str]] = {}
        for error in exc.error_list:
            field = codes.get(error.code or "", "__all__")
            errors.setdefault(field, []).extend(str(m) for m in error.messages)
    else:
        errors = {_FIELDS.get(k, k): v for k, v in django_errors(exc).items()}
    first = next(iter(errors.values()), ["invalid"])[0]
    return ApiProblem(422, "invalid", first, errors)


def _created(kind: str, make: Callable[[], Any], codes: dict[str, str] | None = None) -> Status:
    try:
        row = make()
    except ValidationError as exc:
        raise _refused(exc, codes) from None
    return Status(201, _out(kind, row))


@router.post(
    "/campaigns/flash-sales",
    response={201: CampaignOut, **ERRORS},
    auth=ShopAuth("campaigns:write"),
    openapi_extra=idempotency_doc(),
    summary="Schedule a flash sale: its quantity leaves the supplier's stock at once",
)
def flash_sale_post(request: HttpRequest, payload: FlashSaleIn) -> Any:
    item = _item(payload.listing_item_id)
    terms = flash_services.Terms(
        price_fen=payload.price_fen,
        quantity=payload.quantity,
        per_buyer_limit=payload.per_buyer_limit,
        announce_at=payload.announce_at,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        pay_minutes=payload.pay_minutes,
        registered_only=payload.registered_only,
        title=payload.title.strip(),
    )

    def run() -> Status:
        return _created(
            FLASH, lambda: flash_services.flash_sale_schedule(item=item, **asdict(terms))
        )

    return _write(request, run)


@router.post(
    "/campaigns/group-buys",
    response={201: CampaignOut, **ERRORS},
    auth=ShopAuth("campaigns:write"),
    openapi_extra=idempotency_doc(),
    summary="Start a group buy now (tiered, or fixed-size groups): its quantity leaves the stock",
)
def group_buy_post(request: HttpRequest, payload: GroupBuyIn) -> Any:
    item = _item(payload.listing_item_id)
    if payload.group_kind == GroupBuy.Kind.FIXED and payload.group_size is None:
        message = "A fixed-size group needs its size."
        raise ApiProblem(422, "invalid", message, {"group_size": [message]})
    terms = group_services.Terms(
        title=payload.title,
        tiers=[[t.buyers, t.price_fen] for t in payload.tiers],
        ends_at=payload.ends_at,
        quantity=payload.quantity,
        min_buyers=payload.min_buyers,
        per_fan_limit=payload.per_fan_limit,
        allow_cancel=payload.allow_cancel,
        group_size=payload.group_size or 0,
        lifetime_hours=payload.lifetime_hours,
        new_buyers_only=payload.new_buyers_only,
    )

    def run() -> Status:
        return _created(
            GROUP,
            lambda: group_services.groupbuy_create(kind=payload.group_kind, item=item, terms=terms),
            _GROUP_CODES,
        )

    return _write(request, run)


@router.post(
    "/campaigns/price-drops",
    response={201: CampaignOut, **ERRORS},
    auth=ShopAuth("campaigns:write"),
    openapi_extra=idempotency_doc(),
    summary="Set up a share price drop (it starts at its start, taking its quantity then)",
)
def price_drop_post(request: HttpRequest, payload: PriceDropIn) -> Any:
    item = _item(payload.listing_item_id)
    terms = drop_services.Terms(
        title=payload.title,
        start_price_fen=payload.start_price_fen,
        step_fen=payload.step_fen,
        floor_fen=payload.floor_fen,
        quantity=payload.quantity,
        per_fan_limit=payload.per_fan_limit,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
    )

    def run() -> Status:
        return _created(DROP, lambda: drop_services.pricedrop_create(item=item, terms=terms))

    return _write(request, run)


# --- stopping -------------------------------------------------------------------------------

GROUP_RUNS = "A group buy runs to its deadline; its members paid for its terms."
GROUP_NO_STOP = "A group buy has no stop: it runs to its deadline."


def _flash_pause(sale: FlashSale) -> FlashSale:
    """Cancel before the start (every unit back to the stock); a sale under way runs on."""
    try:
        return flash_services.flash_sale_cancel(sale=sale)
    except ValidationError as exc:
        raise ApiProblem(409, "conflict", " ".join(exc.messages)) from None


def _group_pause(campaign: GroupBuy) -> GroupBuy:
    """No stop (none in the admin either): buyers who joined paid for its terms and deadline.
    One that has closed already is answered as it is."""
    if campaign.status != GroupBuy.Status.OPEN:
        return campaign
    if campaign.joined_ever or campaign.seats:
        raise ApiProblem(409, "conflict", GROUP_RUNS)
    raise ApiProblem(409, "conflict", GROUP_NO_STOP)


def _drop_pause(campaign: PriceDrop) -> PriceDrop:
    """End it now, as the admin's end does (ended already: as it is)."""
    return drop_services.pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)


_PAUSES: dict[str, Callable[[Any], Any]] = {
    FLASH: _flash_pause,
    GROUP: _group_pause,
    DROP: _drop_pause,
}


@router.post(
    "/campaigns/{kind}/{campaign_id}/pause",
    response={200: CampaignOut, **WRITE_ERRORS},
    auth=ShopAuth("campaigns:write"),
    openapi_extra=idempotency_doc(),
    summary="Stop a campaign: a flash sale before its start, a price drop at once (409 else)",
    description=(
        "A flash sale is cancelled before it starts (its units go back to the stock); a price "
        "drop ends now (unsold units go back); a group buy runs to its deadline (409). "
        "Stopping what has stopped answers it as it is."
    ),
)
def campaign_pause(request: HttpRequest, kind: str, campaign_id: int) -> Any:
    row = _campaign(kind, campaign_id)

    def run() -> Status:
        return Status(200, _out(kind, _PAUSES[kind](row)))

    return _write(request, run)
