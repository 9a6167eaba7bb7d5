"""Staff console: the platform view (/console/analytics/). Staff only; public rows only."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.money import yuan
from storefront.analytics.charts import line_chart

from . import analytics_selectors as selectors


def _permille(value: int | None) -> str:
    return "—" if value is None else f"{value // 10}.{value % 10}%"


@staff_member_required(login_url="login")
def platform_view(request: HttpRequest) -> HttpResponse:
    period = selectors.period_get(request.GET.get("period"))
    overview = selectors.overview(period=period)
    days = selectors.per_day(period=period)
    labels = [date_format(d.day, "m-d") for d in days]
    return render(
        request,
        "console/analytics/platform.html",
        {
            "period": period,
            "periods": list(selectors.PERIODS),
            "overview": overview,
            "refund_rate": _permille(overview.refund_rate_permille),
            "days": list(zip(labels, days, strict=True)),
            "gmv_chart": line_chart(
                labels=labels,
                values=[d.gmv_fen for d in days],
                title=_("GMV per day"),
                value_text=yuan,
            ),
            "top_shops": selectors.top_shops(period=period),
            "top_suppliers": selectors.top_suppliers(period=period),
        },
    )
