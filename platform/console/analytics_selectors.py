"""The platform view's figures, from public rows only (billing's payments, refunds and supplier
orders; tenants' names; catalog's suppliers).

Public tables name a shop by its id, so every figure here is one aggregate query over the public
schema: no loop enters a shop's schema, however many shops there are.

- GMV and paid orders: payments captured in the period (by captured_at, platform time zone),
  whatever happened to them afterwards (refunds are their own figure). A payment is one shop
  order, so paid orders = captured payments.
- shops active: shops with at least one payment captured in the period.
- refunds: refunds asked for in the period and not failed; the refund rate is their amount over
  the period's GMV.
- top suppliers: what their lines sold in the period's supplier orders (goods after coupons,
  cancelled supplier orders left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.fulfilment.models import SupplierOrder, SupplierOrderLine
from billing.models import Payment, Refund
from catalog.models import Supplier
from tenants.models import Tenant
from tenants.selectors import shops

PERIODS = {"7": 7, "30": 30, "90": 90}
PERIOD_DEFAULT = "30"
TOP_N = 10
PAID = [Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED]


@dataclass(frozen=True)
class Period:
    key: str
    days: int
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def end(self) -> datetime:
        tz = ZoneInfo(settings.TIME_ZONE)
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=tz)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def period_get(key: str | None, *, today: date | None = None) -> Period:
    """The period KEY names; anything else (a forged ?period=) is the default 30 days."""
    key = key if key in PERIODS else PERIOD_DEFAULT
    last = today or timezone.localdate()
    return Period(key, PERIODS[key], last - timedelta(days=PERIODS[key] - 1), last)


def _paid(period: Period):
    return Payment.objects.filter(
        status__in=PAID, captured_at__gte=period.start, captured_at__lt=period.end
    )


@dataclass(frozen=True)
class Overview:
    gmv_fen: int
    orders: int
    shops_active: int
    shops_total: int
    refunds: int
    refund_fen: int

    @property
    def refund_rate_permille(self) -> int | None:
        if not self.gmv_fen:
            return None
        return (self.refund_fen * 1000 + self.gmv_fen // 2) // self.gmv_fen


def overview(*, period: Period) -> Overview:
    paid = _paid(period).aggregate(
        gmv=Coalesce(Sum("amount"), 0),
        n=Count("id"),
        shops=Count("tenant_id", distinct=True),
    )
    refunds = (
        Refund.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .exclude(status=Refund.Status.FAILED)
        .aggregate(n=Count("id"), s=Coalesce(Sum("amount"), 0))
    )
    return Overview(
        gmv_fen=int(paid["gmv"]),
        orders=paid["n"],
        shops_active=paid["shops"],
        shops_total=shops().count(),
        refunds=refunds["n"],
        refund_fen=int(refunds["s"]),
    )


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    gmv_fen: int


def per_day(*, period: Period) -> list[Day]:
    rows = (
        _paid(period)
        .annotate(day=TruncDate("captured_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day")
        .annotate(n=Count("id"), gmv=Sum("amount"))
        .order_by()
    )
    found = {r["day"]: (r["n"], int(r["gmv"])) for r in rows}
    return [Day(d, *found.get(d, (0, 0))) for d in period.dates()]


@dataclass(frozen=True)
class Ranked:
    pk: int
    name: str
    orders: int
    gmv_fen: int


def top_shops(*, period: Period) -> list[Ranked]:
    rows = list(
        _paid(period)
        .values("tenant_id")
        .annotate(n=Count("id"), gmv=Sum("amount"))
        .order_by("-gmv", "tenant_id")[:TOP_N]
    )
    names = dict(
        Tenant.objects.filter(pk__in=[r["tenant_id"] for r in rows]).values_list("pk", "name")
    )
    return [
        Ranked(r["tenant_id"], names.get(r["tenant_id"], ""), r["n"], int(r["gmv"])) for r in rows
    ]


def top_suppliers(*, period: Period) -> list[Ranked]:
    rows = list(
        SupplierOrderLine.objects.filter(
            supplier_order__created_at__gte=period.start,
            supplier_order__created_at__lt=period.end,
        )
        .exclude(supplier_order__status=SupplierOrder.Status.CANCELLED)
        .values("supplier_order__supplier_id")
        .annotate(
            n=Count("supplier_order_id", distinct=True),
            gmv=Sum(
                F("retail_price_fen") * F("quantity")
                - F("creator_discount_fen")
                - F("platform_discount_fen")
            ),
        )
        .order_by("-gmv", "supplier_order__supplier_id")[:TOP_N]
    )
    ids = [r["supplier_order__supplier_id"] for r in rows]
    names = dict(Supplier.objects.filter(pk__in=ids).values_list("pk", "company_name"))
    return [
        Ranked(
            r["supplier_order__supplier_id"],
            names.get(r["supplier_order__supplier_id"], ""),
            r["n"],
            int(r["gmv"]),
        )
        for r in rows
    ]
