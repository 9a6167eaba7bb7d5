"""The creator's dashboard: her Wagtail home (the article editor's panel is dashboard_panels).

Thin: the period comes from ?period= (anything unknown is the default), the figures from
selectors.py, the charts from charts.py. Money is read only for holders of
storefront.view_money: customer service sees orders and visitors, and no query for GMV,
refunds' amounts or commission is even made for it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.admin.ui.components import Component

from core.money import yuan
from storefront.team.roles import VIEW_MONEY, VIEW_ORDERS

from . import selectors
from .charts import bar_chart, hbar_chart, line_chart


def permille_text(value: int | None) -> str:
    """333 → "33.3%"; None (nothing to divide by) → "—"."""
    if value is None:
        return "—"
    return f"{value // 10}.{value % 10}%"


def dashboard_context(*, period_key: str | None, with_money: bool) -> dict[str, Any]:
    """Everything the dashboard template shows for the period ?period= names."""
    period = selectors.period_get(period_key)
    # Two reads serve every figure: the period's paid orders and its daily rows.
    orders = selectors.order_figures(period=period)
    daily = selectors.daily_rows(period=period)
    summary = selectors.summary(period=period, orders=orders)
    days = selectors.per_day(period=period, orders=orders)
    day_labels = [date_format(d.day, "m-d") for d in days]
    funnel = selectors.funnel(period=period, paid_orders=orders.orders, daily=daily)
    article_rows = selectors.articles(period=period, daily=daily, orders=orders)
    articles = selectors.top_articles(period=period, by="orders", rows=article_rows)
    if not articles:
        # No attributed order yet: the most read articles are still worth seeing.
        articles = selectors.top_articles(period=period, by="views", rows=article_rows)
    listings = selectors.top_listings(
        period=period, by="gmv_fen" if with_money else "units", orders=orders
    )
    sources = selectors.sources(period=period, orders=orders, daily=daily)
    context: dict[str, Any] = {
        "period": period,
        "periods": [(key, selectors.PERIOD_LABELS[key]) for key in selectors.PERIODS],
        "summary": summary,
        "repeat_rate": permille_text(summary.repeat_rate_permille),
        "with_money": with_money,
        "days": list(zip(day_labels, days, strict=True)),
        "orders_chart": bar_chart(
            labels=day_labels,
            values=[d.orders for d in days],
            title=_("Orders per day"),
        ),
        "funnel": [(step, permille_text(step.of_first_permille)) for step in funnel],
        "funnel_chart": hbar_chart(
            labels=[step.label for step in funnel],
            values=[step.count for step in funnel],
            title=_("From reading to paying"),
        ),
        "articles": articles,
        "articles_chart": hbar_chart(
            labels=[a.title for a in articles],
            values=[a.orders or a.views for a in articles],
            title=_("Top articles"),
        ),
        "articles_by_orders": any(a.orders for a in articles),
        "listings": listings,
        "sources": sources,
        "sources_chart": hbar_chart(
            labels=[s.label for s in sources],
            values=[s.orders for s in sources],
            title=_("Orders by source"),
        ),
    }
    if with_money:
        money = selectors.money(period=period, orders=orders)
        articles_gmv = selectors.top_articles(period=period, by="gmv_fen", rows=article_rows)
        context |= {
            "money": money,
            "articles_gmv": articles_gmv,
            "articles_gmv_chart": hbar_chart(
                labels=[a.title for a in articles_gmv],
                values=[a.gmv_fen for a in articles_gmv],
                title=_("Top articles by GMV"),
                value_text=yuan,
            ),
            "gmv_chart": line_chart(
                labels=day_labels,
                values=[d.gmv_fen for d in days],
                title=_("GMV per day"),
                value_text=yuan,
            ),
            "listings_chart": hbar_chart(
                labels=[x.title for x in listings],
                values=[x.gmv_fen for x in listings],
                title=_("Top listings by GMV"),
                value_text=yuan,
            ),
        }
    else:
        context["listings_chart"] = hbar_chart(
            labels=[x.title for x in listings],
            values=[x.units for x in listings],
            title=_("Top listings by units sold"),
        )
    return context


class DashboardPanel(Component):
    """The shop admin's home: the period's figures and charts (see dashboard_context)."""

    name = "storefront_dashboard"
    template_name = "storefront/analytics/dashboard.html"
    # Below the price alert (50: those goods cannot sell until fixed), above Wagtail's panels.
    order = 60

    def get_context_data(self, parent_context: dict | None = None) -> dict:
        request: HttpRequest = (parent_context or {})["request"]
        return dashboard_context(
            period_key=request.GET.get("period"),
            with_money=request.user.has_perm(VIEW_MONEY),
        )


def dashboard_shown(request: HttpRequest) -> bool:
    """Orders and visitors are the dashboard's least: whoever may see orders sees it."""
    return bool(request.user.has_perm(VIEW_ORDERS))
