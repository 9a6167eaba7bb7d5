"""The creator API (/api/v1/ on the shop's own host): listings, orders, coupons, fans, daily
figures and webhooks of that one shop. Thin: parse, call storefront's services and selectors
(their rules, not copies), answer.

Tokens live in the shop's schema, so a token of another shop is simply unknown here (401), and
every query runs in this shop's schema only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from billing.fulfilment.models import ReturnCase, SupplierOrder
from billing.models import Payment
from billing.supplierapi.machinery import (
    ERRORS,
    READ_ERRORS,
    SHOP_EVENTS,
    ApiProblem,
    Cursor,
    Day,
    Moment,
    SafeLine,
    SafeText,
    TokenAuth,
    created_between,
    idempotency_doc,
    idempotent,
    page_of,
)
from catalog.models import Product
from core.api_keys import SHOP_PREFIX
from core.money import FEN_MAX
from core.shop import current_shop
from storefront.coupons import services as coupon_services
from storefront.coupons.models import Coupon
from storefront.models import Fan, Listing, Order
from storefront.services import listing_create, listing_update

from . import services
from .events import order_event_data
from .models import ShopDelivery, ShopIdempotency, ShopToken, ShopWebhook


class ShopAuth(TokenAuth):
    model = ShopToken
    prefix = SHOP_PREFIX
    kind = "shop"


router = Router(tags=["shop"])


def _token(request: HttpRequest) -> ShopToken:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _write(request: HttpRequest, run: Any) -> Status:
    return idempotent(request, model=ShopIdempotency, token=_token(request), run=run)


def _contacts(request: HttpRequest) -> bool:
    return _token(request).has_scope("contacts:read")


# --- listings -----------------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    sku_id: int
    retail_price_fen: int
    price_flagged: bool
    min_retail_fen: int
    max_retail_fen: int
    stock: int


class ListingOut(Schema):
    id: int
    product_id: int
    title: str
    copy_html: str
    is_active: bool
    created_at: datetime
    items: list[ItemOut]


class ListingPage(Schema):
    items: list[ListingOut]
    next_cursor: str | None


def _listing_out(listing: Listing) -> ListingOut:
    return ListingOut(
        id=listing.pk,
        product_id=listing.product_id,
        title=listing.title,
        copy_html=listing.copy,
        is_active=listing.is_active,
        created_at=listing.created_at,
        items=[
            ItemOut(
                id=i.pk,
                sku_id=i.sku_id,
                retail_price_fen=i.retail_price_fen,
                price_flagged=i.price_flagged,
                min_retail_fen=i.sku.min_retail_fen,
                max_retail_fen=i.sku.max_retail_fen,
                stock=i.sku.stock,
            )
            for i in listing.items.select_related("sku").order_by("pk")
        ],
    )


@router.get(
    "/listings",
    response={200: ListingPage, **READ_ERRORS},
    auth=ShopAuth("listings:read"),
    summary="The shop's listings, newest first",
)
def listings_list(request: HttpRequest, page: Query[Cursor]) -> Any:
    rows, nxt = page_of(Listing.objects.all(), cursor=page.cursor, limit=page.limit)
    return ListingPage(items=[_listing_out(x) for x in rows], next_cursor=nxt)


@router.get(
    "/listings/{listing_id}",
    response={200: ListingOut, **READ_ERRORS},
    auth=ShopAuth("listings:read"),
    summary="One listing with its items and the supplier's price bounds",
)
def listing_detail(request: HttpRequest, listing_id: int) -> Any:
    return _listing_out(get_object_or_404(Listing, pk=listing_id))


class PriceIn(Schema):
    sku_id: int = Field(..., ge=1, le=2**62)
    retail_price_fen: int = Field(..., ge=0, le=FEN_MAX)


class ListingIn(Schema):
    product_id: int = Field(..., ge=1, le=2**62)
    title: SafeLine = Field("", max_length=200)
    copy_html: SafeText = Field("", max_length=20_000)
    prices: list[PriceIn] = Field(..., min_length=1, max_length=100)


class ListingPatch(Schema):
    title: SafeLine | None = Field(None, max_length=200)
    copy_html: SafeText | None = Field(None, max_length=20_000)
    is_active: bool | None = None
    prices: list[PriceIn] | None = Field(None, max_length=100)


def _prices(prices: list[PriceIn]) -> dict[int, int]:
    seen: dict[int, int] = {}
    for p in prices:
        if p.sku_id in seen:
            raise ApiProblem(422, "invalid", "A SKU appears twice.", {"prices": ["duplicate"]})
        seen[p.sku_id] = p.retail_price_fen
    return seen


@router.post(
    "/listings",
    response={201: ListingOut, **ERRORS},
    auth=ShopAuth("listings:write"),
    openapi_extra=idempotency_doc(),
    summary="List a catalog product at your prices (within the supplier's bounds)",
)
def listing_post(request: HttpRequest, payload: ListingIn) -> Any:
    product = Product.objects.filter(pk=payload.product_id).first()
    if product is None:
        raise ApiProblem(422, "invalid", "No such product.", {"product_id": ["No such product."]})

    def run() -> Status:
        listing = listing_create(
            product=product,
            title=payload.title,
            copy=payload.copy_html,
            prices=_prices(payload.prices),
        )
        return Status(201, _listing_out(listing))

    return _write(request, run)


@router.patch(
    "/listings/{listing_id}",
    response={200: ListingOut, **ERRORS},
    auth=ShopAuth("listings:write"),
    openapi_extra=idempotency_doc(),
    summary="Reprice (within the supplier's bounds), retitle, or take off sale",
)
def listing_patch(request: HttpRequest, listing_id: int, payload: ListingPatch) -> Any:
    listing = get_object_or_404(Listing, pk=listing_id)

    def run() -> Status:
        done = listing_update(
            listing=listing,
            title=listing.title if payload.title is None else payload.title,
            copy=listing.copy if payload.copy_html is None else payload.copy_html,
            prices=_prices(payload.prices or []),
            is_active=listing.is_active if payload.is_active is None else payload.is_active,
        )
        return Status(200, _listing_out(done))

    return _write(request, run)


# --- orders -------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    id: int
    listing_id: int
    sku_id: int
    title: str
    option_label: str
    quantity: int
    retail_price_fen: int
    campaign: str


class ContactOut(Schema):
    mobile: str
    email: str
    recipient: str
    recipient_phone: str
    province: str
    city: str
    district: str
    street: str


class OrderOut(Schema):
    number: str
    status: str
    goods_fen: int
    shipping_fen: int
    total_fen: int
    currency: str
    created_at: datetime
    paid_at: datetime | None
    lines: list[OrderLineOut]
    contact: ContactOut | None = Field(None, description="only with the contacts:read scope")


class PaymentOut(Schema):
    provider: str
    status: str
    amount_fen: int
    refunded_fen: int
    captured_at: datetime | None


class ShipmentOut(Schema):
    id: int
    status: str
    carrier: str
    tracking_number: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class ReturnOut(Schema):
    id: int
    status: str
    reason: str
    refund_fen: int
    requested_at: datetime
    refunded_at: datetime | None


class OrderDetail(OrderOut):
    payment: PaymentOut | None
    shipments: list[ShipmentOut]
    returns: list[ReturnOut]


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class OrderFilter(Cursor):
    status: Literal["pending_payment", "paid", "expired", "cancelled"] | None = None
    since: Day | None = Field(None, description="created on or after (YYYY-MM-DD, Asia/Shanghai)")
    until: Day | None = Field(None, description="created before (YYYY-MM-DD, Asia/Shanghai)")


def _order_out(order: Order, *, contacts: bool) -> dict[str, Any]:
    data = order_event_data(order)
    data["contact"] = (
        {
            "mobile": order.contact_mobile,
            "email": order.contact_email,
            "recipient": order.recipient,
            "recipient_phone": order.recipient_phone,
            "province": order.province,
            "city": order.city,
            "district": order.district,
            "street": order.street,
        }
        if contacts
        else None
    )
    return data


@router.get(
    "/orders",
    response={200: OrderPage, **READ_ERRORS},
    auth=ShopAuth("orders:read"),
    summary="Orders, newest first, by state and date; cursor pages of up to 100",
)
def orders_list(request: HttpRequest, filters: Query[OrderFilter]) -> Any:
    qs = Order.objects.prefetch_related("lines")
    if filters.status:
        qs = qs.filter(status=filters.status)
    qs = created_between(qs, filters.since, filters.until)
    rows, nxt = page_of(qs, cursor=filters.cursor, limit=filters.limit)
    contacts = _contacts(request)
    return {"items": [_order_out(o, contacts=contacts) for o in rows], "next_cursor": nxt}


@router.get(
    "/orders/{number}",
    response={200: OrderDetail, **READ_ERRORS},
    auth=ShopAuth("orders:read"),
    summary="One order: lines, payment, shipments and returns",
)
def order_detail(request: HttpRequest, number: str) -> Any:
    if len(number) > 16 or not number.isascii() or not number.isalnum():
        raise ApiProblem(404, "not_found", "Not found.")
    order = get_object_or_404(Order, number=number)
    tenant = current_shop()
    data = _order_out(order, contacts=_contacts(request))
    payment = (
        Payment.objects.filter(tenant=tenant, order_number=order.number).order_by("-pk").first()
    )
    data["payment"] = (
        {
            "provider": payment.provider,
            "status": payment.status,
            "amount_fen": payment.amount,
            "refunded_fen": payment.refunded_amount,
            "captured_at": payment.captured_at,
        }
        if payment
        else None
    )
    data["shipments"] = list(
        SupplierOrder.objects.filter(tenant=tenant, order_number=order.number)
        .order_by("pk")
        .values("id", "status", "carrier", "tracking_number", "shipped_at", "delivered_at")
    )
    data["returns"] = list(
        ReturnCase.objects.filter(tenant=tenant, order_number=order.number)
        .order_by("pk")
        .values("id", "status", "reason", "refund_fen", "requested_at", "refunded_at")
    )
    return data


# --- coupons ------------------------------------------------------------------------------------


class CouponOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    amount_fen: int
    percent_off: int | None
    max_off_fen: int | None
    min_goods_fen: int
    scope: str
    starts_at: datetime
    ends_at: datetime
    total_limit: int | None
    per_fan_limit: int
    new_buyers_only: bool
    allow_with_campaign: bool
    purpose: str
    status: str
    claimed_count: int
    redeemed_count: int


class CouponIn(Schema):
    name: SafeLine = Field(..., min_length=1, max_length=60)
    code: SafeLine = Field(..., min_length=1, max_length=16)
    kind: Literal["fixed", "percent", "threshold"]
    amount_fen: int = Field(0, ge=0, le=FEN_MAX)
    percent_off: int | None = Field(None, ge=1, le=99)
    max_off_fen: int | None = Field(None, ge=0, le=FEN_MAX)
    min_goods_fen: int = Field(0, ge=0, le=FEN_MAX)
    listing_ids: list[int] | None = Field(
        None, max_length=200, description="only these listings (default: the whole shop)"
    )
    starts_at: Moment
    ends_at: Moment
    total_limit: int | None = Field(None, ge=1, le=10_000_000)
    per_fan_limit: int = Field(1, ge=1, le=100)
    new_buyers_only: bool = False
    allow_with_campaign: bool = False


@router.get(
    "/coupons",
    response={200: list[CouponOut], **READ_ERRORS},
    auth=ShopAuth("coupons:read"),
    summary="The shop's coupons",
)
def coupons_list(request: HttpRequest) -> Any:
    return list(Coupon.objects.order_by("-pk")[:500])


@router.post(
    "/coupons",
    response={201: CouponOut, **ERRORS},
    auth=ShopAuth("coupons:write"),
    openapi_extra=idempotency_doc(),
    summary="Create a coupon (the shop's coupon rules apply)",
)
def coupon_post(request: HttpRequest, payload: CouponIn) -> Any:
    fields = payload.dict(exclude={"listing_ids", "code"})
    ids = payload.listing_ids
    if ids and any(not 1 <= i <= 2**62 for i in ids):
        raise ApiProblem(422, "invalid", "No such listing.", {"listing_ids": ["No such listing."]})
    fields["scope"] = Coupon.Scope.LISTINGS if ids else Coupon.Scope.SHOP

    def run() -> Status:
        coupon = coupon_services.coupon_create(code=payload.code, listings=ids or None, **fields)
        return Status(201, CouponOut.model_validate(coupon, from_attributes=True))

    return _write(request, run)


@router.post(
    "/coupons/{coupon_id}/pause",
    response={200: CouponOut, **ERRORS},
    auth=ShopAuth("coupons:write"),
    openapi_extra=idempotency_doc(),
    summary="Pause a coupon (no claims or new uses until resumed)",
)
def coupon_pause(request: HttpRequest, coupon_id: int) -> Any:
    coupon = get_object_or_404(Coupon, pk=coupon_id)

    def run() -> Status:
        done = coupon_services.coupon_pause(coupon=coupon)
        return Status(200, CouponOut.model_validate(done, from_attributes=True))

    return _write(request, run)


# --- fans ---------------------------------------------------------------------------------------


class FanOut(Schema):
    id: int
    created_at: datetime
    orders: int
    name: str | None = Field(None, description="only with the contacts:read scope")
    mobile: str | None = Field(None, description="only with the contacts:read scope")
    email: str | None = Field(None, description="only with the contacts:read scope")


class FanPage(Schema):
    items: list[FanOut]
    next_cursor: str | None


@router.get(
    "/fans",
    response={200: FanPage, **READ_ERRORS},
    auth=ShopAuth("fans:read"),
    summary="Fans, newest first (contact details only with contacts:read)",
)
def fans_list(request: HttpRequest, page: Query[Cursor]) -> Any:
    from django.db.models import Count

    qs = Fan.objects.filter(erased_at__isnull=True).annotate(n_orders=Count("orders"))
    rows, nxt = page_of(qs, cursor=page.cursor, limit=page.limit)
    contacts = _contacts(request)
    items = [
        {
            "id": f.pk,
            "created_at": f.created_at,
            "orders": f.n_orders,
            "name": f.name if contacts else None,
            "mobile": f.mobile if contacts else None,
            "email": f.email if contacts else None,
        }
        for f in rows
    ]
    return {"items": items, "next_cursor": nxt}


# --- daily figures ------------------------------------------------------------------------------


class DayOut(Schema):
    day: date
    orders: int
    gmv_fen: int
    visitors: int
    events: dict[str, int]


class DaysIn(Schema):
    since: Day | None = Field(None, description="first day (default: 29 days before until)")
    until: Day | None = Field(None, description="last day, inclusive (default: today)")


@router.get(
    "/analytics/daily",
    response={200: list[DayOut], **READ_ERRORS},
    auth=ShopAuth("analytics:read"),
    summary="Paid orders, GMV, visitors and counted events per day (at most 366 days)",
)
def analytics_daily(request: HttpRequest, q: Query[DaysIn]) -> Any:
    from django.db.models import Sum

    from storefront.analytics.models import DailyPageCount, DailyVisitors
    from storefront.analytics.selectors import Period, order_figures

    for name, day in (("since", q.since), ("until", q.until)):
        # Before the arithmetic below: 29 days before 0001-01-01 is no date (an OverflowError).
        if day is not None and not 2000 <= day.year <= 9000:
            raise ApiProblem(422, "invalid", "Dates from 2000 on.", {name: ["range"]})
    last = q.until or timezone.localdate()
    first = q.since or last - timedelta(days=29)
    if first > last or (last - first).days >= 366:
        raise ApiProblem(
            422, "invalid", "Ask for 1 to 366 days, since before until.", {"since": ["range"]}
        )
    if last.year > 9000 or first.year < 2000:
        raise ApiProblem(422, "invalid", "Dates from 2000 on.", {"since": ["range"]})
    period = Period(key="30", days=(last - first).days + 1, first=first, last=last)
    days = {d.day: d for d in order_figures(period=period).days}
    visitors = dict(
        DailyVisitors.objects.filter(day__gte=first, day__lte=last).values_list("day", "visitors")
    )
    events: dict[date, dict[str, int]] = {}
    for day, event, total in (
        DailyPageCount.objects.filter(day__gte=first, day__lte=last)
        .values_list("day", "event")
        .annotate(total=Sum("count"))
    ):
        events.setdefault(day, {})[event] = int(total or 0)
    return [
        {
            "day": d,
            "orders": days[d].orders if d in days else 0,
            "gmv_fen": days[d].gmv_fen if d in days else 0,
            "visitors": visitors.get(d, 0),
            "events": events.get(d, {}),
        }
        for d in period.dates()
    ]


# --- webhooks -----------------------------------------------------------------------------------


class WebhookIn(Schema):
    url: SafeLine = Field(..., max_length=500)
    events: list[Literal[SHOP_EVENTS]] = Field(..., min_length=1, max_length=10)  # type: ignore[valid-type]


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    is_active: bool
    pause_reason: str
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(..., description="signs every delivery; shown once here")


@router.get(
    "/webhooks",
    response={200: list[WebhookOut], **READ_ERRORS},
    auth=ShopAuth("webhooks:write"),
    summary="The shop's webhook subscriptions",
)
def webhooks_list(request: HttpRequest) -> Any:
    return list(ShopWebhook.objects.order_by("pk"))


@router.post(
    "/webhooks",
    response={201: WebhookCreated, **ERRORS},
    auth=ShopAuth("webhooks:write"),
    openapi_extra=idempotency_doc(),
    summary="Subscribe a URL to events",
)
def webhook_create(request: HttpRequest, payload: WebhookIn) -> Any:
    def run() -> Status:
        hook = services.shop_webhook_create(url=payload.url, events=payload.events)
        return Status(201, WebhookCreated.model_validate(hook, from_attributes=True))

    return _write(request, run)


@router.post(
    "/webhooks/deliveries/{delivery_id}/resend",
    response={202: dict, **ERRORS},
    auth=ShopAuth("webhooks:write"),
    summary="Send a delivery again now",
)
def delivery_resend(request: HttpRequest, delivery_id: int) -> Any:
    services.shop_delivery_resend(delivery=get_object_or_404(ShopDelivery, pk=delivery_id))
    return Status(202, {"queued": True})
