"""The creator's figures for a period: read from the daily rows, the shop's orders and billing.

Run inside the shop's schema (the dashboard is a shop-admin page): every query here reads the
current schema's tables, and the billing reads name the current shop's id from the connection,
never an id from the request, so no figure of another shop can reach a dashboard.

What each figure means (the dashboard's legends say the same):
- orders and GMV: orders *paid* in the period (by paid_at, in the shop's time zone), GMV being
  their totals as paid (goods after coupons, plus delivery). Refunds do not lower GMV: they are a
  figure of their own.
- visitors: the sum of each day's unique visitors (DailyVisitors), so a fan who came on two days
  counts twice. That is how 有赞 and 电商罗盘 add up "访客数" over a range; a true range-unique
  count would need every day's HyperLogLog kept, which the rollup does not.
- average order value: GMV / orders, rounded to the fen.
- repeat-buyer rate: of the fans who paid for an order in the period, those with two or more
  paid orders up to the period's end (an order before the period makes a returning buyer too).
- refunds: refunds of the shop's payments asked for in the period and not failed.
- commission pending and available: the ledger's balances now (not per period).
- the funnel: article views → card taps → checkout starts from the daily rows, and paid orders
  from the orders themselves (the truth, whatever the beacon missed).
- articles: an order belongs to the article whose product card its buyer last tapped (within
  a week, attribution.py; Order.source_page_id): each article's paid orders and their GMV are
  the orders themselves, not events.

Orders, GMV, share-link orders and the per-article and per-listing figures come from the
days rolled up by sales.py (≤ 90 rows a figure), today and yesterday and any changed day from
the orders themselves, so they are exact; buyers and repeat buyers are one read of the
period's paid orders by fan. bench/analytics_dashboard.py times it with 100,000 orders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from billing.models import Refund
from billing.payouts.selectors import creator_earnings
from core.shop import current_shop_id
from storefront.models import Listing, Order

from .models import DailyPageCount, DailyVisitors
from .sales import Sales, sales

# The period switcher's choices: key → number of days ending today (today included).
PERIODS: dict[str, int] = {"today": 1, "7": 7, "30": 30, "90": 90}
PERIOD_DEFAULT = "7"
PERIOD_LABELS = {
    "today": _("Today"),
    "7": _("7 days"),
    "30": _("30 days"),
    "90": _("90 days"),
}
TOP_N = 10
# Events that are a visit to a page, for the sources table.
VISIT_EVENTS = ("article_view", "product_view", "share_visit")


@dataclass(frozen=True)
class Period:
    key: str
    days: int
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=_tz())

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=_tz())

    @property
    def label(self) -> str:
        return str(PERIOD_LABELS[self.key])

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def period_get(key: str | None, *, today: date | None = None) -> Period:
    """The period KEY names ("today", "7", "30", "90"); anything else is the default (7 days),
    so a forged or stale ?period= shows the usual dashboard rather than an error."""
    key = key if key in PERIODS else PERIOD_DEFAULT
    days = PERIODS[key]
    last = today or timezone.localdate()
    return Period(key=key, days=days, first=last - timedelta(days=days - 1), last=last)


# --- the figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    gmv_fen: int


@dataclass(frozen=True)
class OrderFigures:
    """The period's paid orders (sales.py's days, and one read by fan for the buyers)."""

    orders: int
    gmv_fen: int
    buyers: int
    repeat_buyers: int
    shared: int  # paid orders that came through a share link
    days: list[Day]
    sales: Sales


def order_figures(*, period: Period) -> OrderFigures:
    """Orders, GMV, share-link orders and the per-day series from the days rolled up (exact:
    sales.py), buyers and repeat buyers from the period's paid orders by fan."""
    found = sales(days=period.dates(), shop_id=current_shop_id())
    buyers, repeat = _buyers(period)
    days = [Day(d, found.days[d].orders, found.days[d].gmv_fen) for d in period.dates()]
    return OrderFigures(
        orders=sum(d.orders for d in days),
        gmv_fen=sum(d.gmv_fen for d in days),
        buyers=buyers,
        repeat_buyers=repeat,
        shared=sum(found.days[d].shared for d in period.dates()),
        days=days,
        sales=found,
    )


def _buyers(period: Period) -> tuple[int, int]:
    """(buyers, repeat buyers) of the period: a buyer is a repeat buyer with two paid orders
    in the period or any paid order before it (an index probe by fan, only for buyers with
    one order in the period). Not additive over days, so read from the orders."""
    table = Order._meta.db_table
    sql = f"""
        WITH buyers AS (
            SELECT fan_id, count(*) AS n FROM {table}
             WHERE status = %(paid)s AND paid_at >= %(start)s AND paid_at < %(end)s
             GROUP BY fan_id
        )
        SELECT count(*), count(*) FILTER (
                   WHERE n >= 2 OR EXISTS (
                       SELECT 1 FROM {table} o
                        WHERE o.fan_id = buyers.fan_id AND o.status = %(paid)s
                          AND o.paid_at < %(start)s))
          FROM buyers
    """  # noqa: S608 (the table name is the model's own, the values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"paid": Order.Status.PAID.value, "start": period.start, "end": period.end}
        )
        buyers, repeat = cursor.fetchone()
    return int(buyers), int(repeat)


def daily_rows(*, period: Period) -> list[tuple[str, int, str, int]]:
    """(event, page_id, source, count) summed over the period's days: one read of the daily
    page rows (listings already summed away) that the funnel, the articles and the sources
    all share."""
    rows = (
        DailyPageCount.objects.filter(day__gte=period.first, day__lte=period.last)
        .values_list("event", "page_id", "source")
        .annotate(n=Sum("count"))
        .order_by()
    )
    return [(event, page_id, source, int(n)) for event, page_id, source, n in rows]


@dataclass(frozen=True)
class Summary:
    """The counts anyone with the dashboard may see (no money)."""

    visitors: int
    orders: int
    buyers: int
    repeat_buyers: int
    refunds: int

    @property
    def repeat_rate_permille(self) -> int | None:
        if not self.buyers:
            return None
        return (self.repeat_buyers * 1000 + self.buyers // 2) // self.buyers


@dataclass(frozen=True)
class Money:
    """The money figures, for roles with storefront.view_money only."""

    gmv_fen: int
    aov_fen: int | None
    refund_fen: int
    commission_pending_fen: int
    commission_available_fen: int


def summary(*, period: Period, orders: OrderFigures | None = None) -> Summary:
    orders = orders or order_figures(period=period)
    visitors = DailyVisitors.objects.filter(day__gte=period.first, day__lte=period.last).aggregate(
        n=Coalesce(Sum("visitors"), 0)
    )["n"]
    return Summary(
        visitors=int(visitors),
        orders=orders.orders,
        buyers=orders.buyers,
        repeat_buyers=orders.repeat_buyers,
        refunds=_refunds(period).count(),
    )


def _refunds(period: Period):
    # Billing's rows (public schema) name the shop by its id: this shop's, from the connection.
    return Refund.objects.filter(
        payment__tenant_id=current_shop_id(),
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).exclude(status=Refund.Status.FAILED)


def money(*, period: Period, orders: OrderFigures | None = None) -> Money:
    orders = orders or order_figures(period=period)
    gmv, n = orders.gmv_fen, orders.orders
    refund = _refunds(period).aggregate(s=Coalesce(Sum("amount"), 0))["s"]
    earnings = creator_earnings(tenant_id=current_shop_id())
    return Money(
        gmv_fen=gmv,
        aov_fen=(gmv + n // 2) // n if n else None,
        refund_fen=int(refund),
        commission_pending_fen=earnings.pending_fen,
        commission_available_fen=earnings.available_fen,
    )


def per_day(*, period: Period, orders: OrderFigures | None = None) -> list[Day]:
    """Every day of the period (days without orders as zeros), oldest first."""
    return (orders or order_figures(period=period)).days


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: int
    # Of the first step, in per mille (None when the first step is zero).
    of_first_permille: int | None


def funnel(
    *,
    period: Period,
    paid_orders: int | None = None,
    daily: list[tuple[str, int, str, int]] | None = None,
) -> list[Step]:
    """Article views → card taps → checkout starts → paid orders."""
    counts: dict[str, int] = defaultdict(int)
    for event, _page, _source, n in daily if daily is not None else daily_rows(period=period):
        counts[event] += n
    if paid_orders is None:
        paid_orders = order_figures(period=period).orders
    steps = [
        ("article_view", _("Article views"), int(counts.get("article_view", 0))),
        ("card_tap", _("Product card taps"), int(counts.get("card_tap", 0))),
        ("checkout_start", _("Checkouts started"), int(counts.get("checkout_start", 0))),
        ("paid", _("Orders paid"), paid_orders),
    ]
    first = steps[0][2]
    return [
        Step(key, str(label), n, (n * 1000 + first // 2) // first if first else None)
        for key, label, n in steps
    ]


@dataclass
class ArticleFigures:
    page_id: int
    title: str
    views: int = 0
    taps: int = 0
    orders: int = 0
    gmv_fen: int = 0


def articles(
    *,
    period: Period,
    daily: list[tuple[str, int, str, int]] | None = None,
    orders: OrderFigures | None = None,
) -> list[ArticleFigures]:
    """Every article viewed or sold from in the period: views and card taps from the daily
    rows, paid orders and their GMV from the orders that came from it (Order.source_page_id)."""
    by_page: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event, page_id, _source, n in daily if daily is not None else daily_rows(period=period):
        if page_id > 0 and event in ("article_view", "card_tap"):
            by_page[page_id][event] += n
    pages = (orders or order_figures(period=period)).sales.pages
    # Articles are the pages that had article views (product pages report product views) or
    # orders (only an article's card taps name an order's page).
    ids = [pk for pk, events in by_page.items() if "article_view" in events]
    ids += [pk for pk, sold in pages.items() if sold.orders and pk not in by_page]
    titles = dict(Page.objects.filter(pk__in=ids).values_list("pk", "title"))
    return [
        ArticleFigures(
            page_id=pk,
            title=titles[pk],
            views=by_page[pk].get("article_view", 0) if pk in by_page else 0,
            taps=by_page[pk].get("card_tap", 0) if pk in by_page else 0,
            orders=pages[pk].orders if pk in pages else 0,
            gmv_fen=pages[pk].gmv_fen if pk in pages else 0,
        )
        for pk in ids
        if pk in titles  # a deleted page's old rows are left out
    ]


def top_articles(
    *,
    period: Period,
    by: str = "orders",
    daily: list[tuple[str, int, str, int]] | None = None,
    orders: OrderFigures | None = None,
    rows: list[ArticleFigures] | None = None,
) -> list[ArticleFigures]:
    """The TOP_N articles by BY ("orders", "gmv_fen", "views" or "taps"), ties broken by
    views then id. ROWS: articles() already read, for a second ranking of the same period."""
    if rows is None:
        rows = articles(period=period, daily=daily, orders=orders)
    chosen = [a for a in rows if getattr(a, by) > 0]
    chosen.sort(key=lambda a: (-getattr(a, by), -a.views, a.page_id))
    return chosen[:TOP_N]


@dataclass(frozen=True)
class ListingFigures:
    listing_id: int
    title: str
    orders: int
    units: int
    gmv_fen: int


def top_listings(
    *, period: Period, by: str = "gmv_fen", orders: OrderFigures | None = None
) -> list[ListingFigures]:
    """The TOP_N listings by what they sold in the period's paid orders (goods after coupons;
    delivery is the order's, not a listing's). BY: "gmv_fen" or "units"."""
    found = (orders or order_figures(period=period)).sales.listings
    ranked = sorted(
        ((pk, row) for pk, row in found.items() if row.orders),
        key=lambda item: (-(item[1].gmv_fen if by == "gmv_fen" else item[1].units), item[0]),
    )[:TOP_N]
    titles = dict(
        Listing.objects.filter(pk__in=[pk for pk, _row in ranked]).values_list("pk", "title")
    )
    return [
        ListingFigures(
            listing_id=pk,
            title=titles.get(pk, ""),
            orders=row.orders,
            units=row.units,
            gmv_fen=row.gmv_fen,
        )
        for pk, row in ranked
    ]


@dataclass
class SourceFigures:
    source: str  # "" direct, "share", "campaign:<id>", "coupon:<code>"
    label: str
    visits: int = 0
    orders: int = 0
    # Coupons only, from their redemptions (None elsewhere): what the coupon took off.
    discount_fen: int | None = None


def _source_label(source: str) -> str:
    if source == "":
        return str(_("Direct"))
    if source == "share":
        return str(_("Share links"))
    kind, _sep, rest = source.partition(":")
    if kind == "campaign":
        return str(_("Campaign #%(id)s")) % {"id": rest}
    if kind == "coupon":
        return str(_("Coupon %(code)s")) % {"code": rest}
    return source


def sources(
    *,
    period: Period,
    orders: OrderFigures | None = None,
    daily: list[tuple[str, int, str, int]] | None = None,
) -> list[SourceFigures]:
    """Visits and paid orders by where the buyer came from, most orders first.

    From the daily rows' source; coupons' orders and discounts come from their redemptions
    when the coupons app is installed (exact, whatever the beacon missed).
    """
    found: dict[str, SourceFigures] = {}
    for event, _page, source, n in daily if daily is not None else daily_rows(period=period):
        if event in VISIT_EVENTS or event == "order_paid":
            row = found.setdefault(source, SourceFigures(source, _source_label(source)))
            if event == "order_paid":
                row.orders += n
            else:
                row.visits += n
    # Share links: the orders themselves say which came through one (Order.share_link).
    shared = (orders or order_figures(period=period)).shared
    if shared or "share" in found:
        row = found.setdefault("share", SourceFigures("share", _source_label("share")))
        row.orders = shared
    for code, used, discount in _coupon_redemptions(period):
        key = f"coupon:{code}"
        row = found.setdefault(key, SourceFigures(key, _source_label(key)))
        row.orders = used
        row.discount_fen = discount
    result = [row for row in found.values() if row.visits or row.orders]
    result.sort(key=lambda r: (-r.orders, -r.visits, r.source))
    return result


def _coupon_redemptions(period: Period) -> list[tuple[str, int, int]]:
    """(code, paid orders, discount fen) per coupon used on the period's paid orders."""
    from django.apps import apps

    if not apps.is_installed("storefront.coupons"):
        return []
    redemption = apps.get_model("coupons", "CouponRedemption")
    rows = (
        redemption.objects.filter(
            order__status=Order.Status.PAID,
            order__paid_at__gte=period.start,
            order__paid_at__lt=period.end,
        )
        .exclude(status="released")
        .values_list("coupon__code")
        .annotate(n=Count("order_id", distinct=True), s=Sum("amount_fen"))
        .order_by()
    )
    return [(code, n, int(s or 0)) for code, n, s in rows]


# --- one article (its editor panel) ------------------------------------------------------------


@dataclass(frozen=True)
class PageFigures:
    views: int
    impressions: int
    taps: int
    orders: int
    gmv_fen: int


def page_figures(*, page_id: int, period: Period) -> PageFigures:
    """One page's own figures in the period: views, card impressions and card taps (daily
    rows), the paid orders that came from it and their GMV (the orders, through sales.py)."""
    counts = dict(
        DailyPageCount.objects.filter(page_id=page_id, day__gte=period.first, day__lte=period.last)
        .values_list("event")
        .annotate(n=Sum("count"))
        .order_by()
    )
    sold = sales(days=period.dates(), shop_id=current_shop_id(), listings=False).pages
    mine = sold.get(page_id)
    return PageFigures(
        views=int(counts.get("article_view", 0)),
        impressions=int(counts.get("card_impression", 0)),
        taps=int(counts.get("card_tap", 0)),
        orders=mine.orders if mine else 0,
        gmv_fen=mine.gmv_fen if mine else 0,
    )
