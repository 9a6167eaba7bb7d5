"""The supplier API (/api/v1/supplier/ on the platform host): products, stock, price changes,
orders to ship, returns, statements, webhooks. Thin: parse, call catalog's and fulfilment's
services (their rules, not copies), answer.

Every row is looked up through the token's supplier, so another supplier's row is a 404, never
a 403 that would confirm it exists.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from billing.documents.models import Statement
from billing.fulfilment.models import ReturnCase, SupplierOrder
from billing.fulfilment.services import RefundNotMade, return_receive, supplier_order_ship
from catalog.models import SKU, Product, Supplier
from catalog.services.prices import PriceTerms, price_change_request
from catalog.services.stock import sku_stock_adjust, sku_stock_set
from core.api_keys import SUPPLIER_PREFIX
from core.money import FEN_MAX

from . import services
from .events import return_case_data, supplier_order_data
from .machinery import (
    ERRORS,
    PAGE_MAX,
    READ_ERRORS,
    SUPPLIER_EVENTS,
    ApiProblem,
    Cursor,
    Day,
    SafeLine,
    SafeText,
    TokenAuth,
    created_between,
    idempotency_doc,
    idempotent,
    page_of,
)
from .models import SupplierDelivery, SupplierIdempotency, SupplierToken, SupplierWebhook

STOCK_LIMIT = 10_000_000


class SupplierAuth(TokenAuth):
    model = SupplierToken
    prefix = SUPPLIER_PREFIX
    kind = "supplier"

    def lookup(self, digest: str) -> SupplierToken | None:
        return (
            SupplierToken.objects.select_related("supplier", "supplier__user")
            .filter(digest=digest, revoked_at__isnull=True)
            .exclude(supplier__status=Supplier.Status.SUSPENDED)
            .first()
        )


router = Router(tags=["supplier"])


def _token(request: HttpRequest) -> SupplierToken:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _supplier(request: HttpRequest) -> Supplier:
    return _token(request).supplier


def _actor(request: HttpRequest) -> Any:
    return _supplier(request).user


def _write(request: HttpRequest, run: Any) -> Status:
    return idempotent(request, model=SupplierIdempotency, token=_token(request), run=run)


# --- products and SKUs --------------------------------------------------------------------------


class SkuOut(Schema):
    id: int
    code: str
    options: dict
    supply_price_fen: int
    suggested_retail_fen: int
    min_retail_fen: int
    max_retail_fen: int
    stock: int
    is_active: bool


class ProductOut(Schema):
    id: int
    title: str
    vetting_status: str
    is_active: bool
    is_suspended: bool
    skus: list[SkuOut]


class ProductPage(Schema):
    items: list[ProductOut]
    next_cursor: str | None


def _product_out(p: Product) -> ProductOut:
    return ProductOut(
        id=p.pk,
        title=p.title,
        vetting_status=p.vetting_status,
        is_active=p.is_active,
        is_suspended=p.is_suspended,
        skus=[SkuOut.model_validate(s, from_attributes=True) for s in p.skus.order_by("pk")],
    )


@router.get(
    "/products",
    response={200: ProductPage, **READ_ERRORS},
    auth=SupplierAuth("products:read"),
    summary="Your products and their SKUs",
)
def products_list(request: HttpRequest, page: Query[Cursor]) -> Any:
    qs = Product.objects.filter(supplier=_supplier(request)).prefetch_related("skus")
    rows, nxt = page_of(qs, cursor=page.cursor, limit=page.limit)
    return ProductPage(items=[_product_out(p) for p in rows], next_cursor=nxt)


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **READ_ERRORS},
    auth=SupplierAuth("products:read"),
    summary="One of your products",
)
def product_detail(request: HttpRequest, product_id: int) -> Any:
    return _product_out(get_object_or_404(Product, pk=product_id, supplier=_supplier(request)))


def _sku(request: HttpRequest, sku_id: int) -> SKU:
    return get_object_or_404(
        SKU.objects.select_related("product"), pk=sku_id, product__supplier=_supplier(request)
    )


class StockSet(Schema):
    stock: int = Field(..., ge=0, le=STOCK_LIMIT)
    expected: int | None = Field(
        None, ge=0, le=STOCK_LIMIT, description="the stock you last read: refused if it moved"
    )


class StockAdjust(Schema):
    delta: int = Field(..., ge=-STOCK_LIMIT, le=STOCK_LIMIT, description="not zero")


@router.put(
    "/skus/{sku_id}/stock",
    response={200: SkuOut, **ERRORS},
    auth=SupplierAuth("stock:write"),
    openapi_extra=idempotency_doc(),
    summary="Set a SKU's stock (absolute)",
)
def sku_stock_put(request: HttpRequest, sku_id: int, payload: StockSet) -> Any:
    sku = _sku(request, sku_id)

    def run() -> Status:
        done = sku_stock_set(
            sku=sku,
            supplier=_supplier(request),
            actor=_actor(request),
            stock=payload.stock,
            expected=payload.expected,
        )
        return Status(200, SkuOut.model_validate(done, from_attributes=True))

    return _write(request, run)


@router.post(
    "/skus/{sku_id}/stock/adjust",
    response={200: SkuOut, **ERRORS},
    auth=SupplierAuth("stock:write"),
    openapi_extra=idempotency_doc(),
    summary="Add or write off units of a SKU",
)
def sku_stock_post(request: HttpRequest, sku_id: int, payload: StockAdjust) -> Any:
    sku = _sku(request, sku_id)

    def run() -> Status:
        done = sku_stock_adjust(
            sku=sku, supplier=_supplier(request), actor=_actor(request), delta=payload.delta
        )
        return Status(200, SkuOut.model_validate(done, from_attributes=True))

    return _write(request, run)


class PriceChangeIn(Schema):
    supply_price_fen: int = Field(..., ge=0, le=FEN_MAX)
    suggested_retail_fen: int = Field(..., ge=0, le=FEN_MAX)
    min_retail_fen: int = Field(..., ge=0, le=FEN_MAX)
    max_retail_fen: int = Field(..., ge=0, le=FEN_MAX)
    note: SafeText = Field("", max_length=1000)


class PriceChangeOut(Schema):
    id: int
    sku_id: int
    status: str
    supply_price_fen: int
    suggested_retail_fen: int
    min_retail_fen: int
    max_retail_fen: int


@router.post(
    "/skus/{sku_id}/price-changes",
    response={201: PriceChangeOut, **ERRORS},
    auth=SupplierAuth("prices:write"),
    openapi_extra=idempotency_doc(),
    summary="Ask for new price terms (staff vet them)",
)
def price_change_post(request: HttpRequest, sku_id: int, payload: PriceChangeIn) -> Any:
    sku = _sku(request, sku_id)

    def run() -> Status:
        change = price_change_request(
            sku=sku,
            supplier=_supplier(request),
            actor=_actor(request),
            terms=PriceTerms(
                supply_price_fen=payload.supply_price_fen,
                suggested_retail_fen=payload.suggested_retail_fen,
                min_retail_fen=payload.min_retail_fen,
                max_retail_fen=payload.max_retail_fen,
            ),
            note=payload.note,
        )
        return Status(201, PriceChangeOut.model_validate(change, from_attributes=True))

    return _write(request, run)


# --- orders to ship -----------------------------------------------------------------------------


class ShipTo(Schema):
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    street: str


class OrderLineOut(Schema):
    id: int
    sku_id: int
    title: str
    option_label: str
    quantity: int
    supply_price_fen: int
    returned_quantity: int


class SupplierOrderOut(Schema):
    id: int
    order_number: str
    status: str
    currency: str
    ship_to: ShipTo
    carrier: str
    tracking_number: str
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    lines: list[OrderLineOut]


class OrderPage(Schema):
    items: list[SupplierOrderOut]
    next_cursor: str | None


class OrderFilter(Cursor):
    status: Literal["to_ship", "shipped", "delivered", "cancelled"] | None = None
    since: Day | None = Field(None, description="created on or after (YYYY-MM-DD)")
    until: Day | None = Field(None, description="created before (YYYY-MM-DD)")


def _orders(request: HttpRequest) -> Any:
    return SupplierOrder.objects.filter(supplier=_supplier(request))


@router.get(
    "/orders",
    response={200: OrderPage, **READ_ERRORS},
    auth=SupplierAuth("orders:read"),
    summary="Your orders to ship, newest first",
)
def orders_list(request: HttpRequest, filters: Query[OrderFilter]) -> Any:
    qs = _orders(request).prefetch_related("lines")
    if filters.status:
        qs = qs.filter(status=filters.status)
    qs = created_between(qs, filters.since, filters.until)
    rows, nxt = page_of(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [supplier_order_data(so) for so in rows], "next_cursor": nxt}


class Shipment(Schema):
    order_id: int = Field(..., ge=1, le=2**62)
    carrier: SafeLine = Field(..., min_length=1, max_length=40)
    tracking_number: SafeLine = Field(..., min_length=1, max_length=40)


class ShipIn(Schema):
    shipments: list[Shipment] = Field(..., min_length=1, max_length=PAGE_MAX)


class ShipOut(Schema):
    orders: list[SupplierOrderOut]


@router.post(
    "/orders/ship",
    response={200: ShipOut, **ERRORS},
    auth=SupplierAuth("orders:write"),
    openapi_extra=idempotency_doc(),
    summary="Ship orders with carrier and tracking number, in bulk (all or none)",
)
def orders_ship(request: HttpRequest, payload: ShipIn) -> Any:
    supplier = _supplier(request)
    ids = [s.order_id for s in payload.shipments]
    if len(set(ids)) != len(ids):
        raise ApiProblem(422, "invalid", "An order appears twice.", {"shipments": ["duplicate"]})
    found = {so.pk: so for so in _orders(request).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiProblem(404, "not_found", f"No such order: {missing[0]}.")

    def run() -> Status:
        done = []
        errors: dict[str, list[str]] = {}
        with transaction.atomic():
            for n, s in enumerate(payload.shipments):
                try:
                    done.append(
                        supplier_order_ship(
                            supplier_order=found[s.order_id],
                            supplier=supplier,
                            carrier=s.carrier,
                            tracking_number=s.tracking_number,
                            actor=_actor(request),
                        )
                    )
                except ValidationError as exc:
                    for field, messages in _messages(exc).items():
                        errors[f"shipments.{n}.{field}"] = messages
            if errors:
                transaction.set_rollback(True)
                first = next(iter(errors.values()))[0]
                raise ApiProblem(422, "invalid", first, errors)
        return Status(200, {"orders": [supplier_order_data(so) for so in done]})

    return _write(request, run)


# After /orders/ship: /orders/{order_id} would take "ship" as an id (a 405 for its POST).
@router.get(
    "/orders/{order_id}",
    response={200: SupplierOrderOut, **READ_ERRORS},
    auth=SupplierAuth("orders:read"),
    summary="One of your orders",
)
def order_detail(request: HttpRequest, order_id: int) -> Any:
    return supplier_order_data(get_object_or_404(_orders(request), pk=order_id))


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


# --- returns ------------------------------------------------------------------------------------


class ReturnLine(Schema):
    line_id: int
    quantity: int


class ReturnOut(Schema):
    id: int
    supplier_order_id: int
    order_number: str
    status: str
    reason: str
    refund_fen: int
    requested_at: datetime
    return_carrier: str
    return_tracking_number: str
    received_at: datetime | None
    refunded_at: datetime | None
    lines: list[ReturnLine]


class ReturnPage(Schema):
    items: list[ReturnOut]
    next_cursor: str | None


class ReturnFilter(Cursor):
    status: Literal["requested", "received", "refunded", "rejected", "cancelled"] | None = None


def _returns(request: HttpRequest) -> Any:
    return ReturnCase.objects.filter(supplier_order__supplier=_supplier(request))


@router.get(
    "/returns",
    response={200: ReturnPage, **READ_ERRORS},
    auth=SupplierAuth("returns:read"),
    summary="Returns of your goods, newest first",
)
def returns_list(request: HttpRequest, filters: Query[ReturnFilter]) -> Any:
    qs = _returns(request).prefetch_related("lines")
    if filters.status:
        qs = qs.filter(status=filters.status)
    rows, nxt = page_of(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [return_case_data(c) for c in rows], "next_cursor": nxt}


@router.post(
    "/returns/{return_id}/receive",
    response={200: ReturnOut, **ERRORS},
    auth=SupplierAuth("returns:write"),
    openapi_extra=idempotency_doc(),
    summary="Confirm the goods came back: the buyer is refunded",
)
def return_confirm(request: HttpRequest, return_id: int) -> Any:
    case = get_object_or_404(_returns(request), pk=return_id)

    def run() -> Status:
        try:
            done = return_receive(case=case, supplier=_supplier(request), actor=_actor(request))
        except RefundNotMade as exc:
            raise ApiProblem(
                422, "refund_not_made", f"The refund could not be made yet: {exc}"
            ) from exc
        return Status(200, return_case_data(done))

    return _write(request, run)


# --- statements ---------------------------------------------------------------------------------


class StatementOut(Schema):
    id: int
    month: date
    status: str
    version: int
    figures: dict
    rendered_at: datetime | None


@router.get(
    "/statements",
    response={200: list[StatementOut], **READ_ERRORS},
    auth=SupplierAuth("statements:read"),
    summary="Your monthly statements (the PDF is in the portal)",
)
def statements_list(request: HttpRequest) -> Any:
    return list(
        Statement.objects.filter(kind=Statement.Kind.SUPPLIER, supplier=_supplier(request))[:120]
    )


# --- webhooks -----------------------------------------------------------------------------------


class WebhookIn(Schema):
    url: SafeLine = Field(..., max_length=500)
    events: list[Literal[SUPPLIER_EVENTS]] = Field(..., min_length=1, max_length=10)  # type: ignore[valid-type]


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
    auth=SupplierAuth("webhooks:write"),
    summary="Your webhook subscriptions",
)
def webhooks_list(request: HttpRequest) -> Any:
    return list(SupplierWebhook.objects.filter(supplier=_supplier(request)).order_by("pk"))


@router.post(
    "/webhooks",
    response={201: WebhookCreated, **ERRORS},
    auth=SupplierAuth("webhooks:write"),
    openapi_extra=idempotency_doc(),
    summary="Subscribe a URL to events",
)
def webhook_create(request: HttpRequest, payload: WebhookIn) -> Any:
    def run() -> Status:
        hook = services.supplier_webhook_create(
            supplier=_supplier(request), url=payload.url, events=payload.events
        )
        return Status(201, WebhookCreated.model_validate(hook, from_attributes=True))

    return _write(request, run)


@router.post(
    "/webhooks/deliveries/{delivery_id}/resend",
    response={202: dict, **ERRORS},
    auth=SupplierAuth("webhooks:write"),
    summary="Send a delivery again now",
)
def delivery_resend(request: HttpRequest, delivery_id: int) -> Any:
    delivery = get_object_or_404(
        SupplierDelivery, pk=delivery_id, webhook__supplier=_supplier(request)
    )
    services.supplier_delivery_resend(delivery=delivery)
    return Status(202, {"queued": True})
