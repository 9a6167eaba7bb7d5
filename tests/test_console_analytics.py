"""The platform view in the staff console: staff only, figures from public rows (captured
payments, refunds, supplier orders), never a query inside a shop's schema."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.fulfilment.testing import Item, order_paid
from billing.models import Payment, Refund
from catalog.testing import first_sku, product_make, supplier_make
from console import analytics_selectors as selectors
from core.money import yuan

from .a2_helpers import day_at, figure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

_n = itertools.count()


@pytest.fixture
def staff(shop_client):
    get_user_model().objects.create_user("ops-figures", password="pw-123456-x", is_staff=True)
    client = shop_client("localhost")
    client.login(username="ops-figures", password="pw-123456-x")
    return client


def payment(shop, fen: int, *, days_ago: int = 0, captured: bool = True) -> Payment:
    n = next(_n)
    return Payment.objects.create(
        tenant=shop,
        order_number=f"PV{n:06d}",
        amount=fen,
        provider="sandbox",
        out_trade_no=f"PVT{n:06d}{timezone.now():%H%M%S}",
        status=Payment.Status.CAPTURED if captured else Payment.Status.CREATED,
        expires_at=timezone.now() + timedelta(minutes=30),
        captured_at=day_at(days_ago) if captured else None,
    )


def test_anonymous_users_suppliers_and_shop_staff_cannot_open_it(shops, shop_client):
    assert shop_client("localhost").get("/console/analytics/").status_code == 302
    get_user_model().objects.create_user("not-staff", password="pw-123456-x")
    client = shop_client("localhost")
    client.login(username="not-staff", password="pw-123456-x")
    response = client.get("/console/analytics/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    supplier = supplier_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)
    assert client.get("/console/analytics/").status_code == 302
    # Not served on a shop's own host either (the console is the platform's).
    assert shop_client("a.localhost").get("/console/analytics/").status_code == 404
    connection.set_schema_to_public()


def test_staff_see_gmv_orders_active_shops_and_refund_rate(shops, staff):
    period = selectors.period_get("30")
    before = selectors.overview(period=period)
    pa = payment(shops.a, 10_000)
    payment(shops.b, 5_000, days_ago=2)
    payment(shops.a, 3_000, days_ago=40)  # outside the 30 days
    payment(shops.b, 99_900, captured=False)  # never paid
    Refund.objects.create(payment=pa, amount=2_500, idempotency_key="pv1", out_refund_no="pv1")
    Refund.objects.create(
        payment=pa, amount=700, idempotency_key="pv2", out_refund_no="pv2",
        status=Refund.Status.FAILED,
    )  # fmt: skip
    response = staff.get("/console/analytics/")
    assert response.status_code == 200
    html = response.content.decode()
    gmv = before.gmv_fen + 15_000
    refund_fen = before.refund_fen + 2_500
    assert figure(html, "gmv") == yuan(gmv)
    assert figure(html, "orders") == str(before.orders + 2)
    assert figure(html, "refunds") == f"{before.refunds + 1} · {yuan(refund_fen)}"
    rate = (refund_fen * 1000 + gmv // 2) // gmv
    assert figure(html, "refund-rate") == f"{rate // 10}.{rate % 10}%"
    active, total = figure(html, "active").split(" / ")
    assert int(active) >= 2 and int(total) >= 2
    # Both shops are listed among the top shops, a (100.00) above b (50.00) when alone.
    assert shops.a.name in html and shops.b.name in html
    # The 90-day view includes the payment 40 days ago.
    quarter = staff.get("/console/analytics/?period=90").content.decode()
    ninety = selectors.overview(period=selectors.period_get("90"))
    assert figure(quarter, "gmv") == yuan(ninety.gmv_fen)
    assert ninety.gmv_fen >= gmv + 3_000


def test_gmv_per_day_has_every_day_and_the_days_takings(shops, staff):
    period = selectors.period_get("7")
    before = {d.day: d for d in selectors.per_day(period=period)}
    payment(shops.a, 1_234, days_ago=1)
    payment(shops.b, 766, days_ago=1)
    html = staff.get("/console/analytics/?period=7").content.decode()
    assert html.count("<time datetime=") == 7
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    row = html[html.find(f'<time datetime="{day}">') :]
    row = row[: row.find("</tr>")]
    yesterday = before[timezone.localdate() - timedelta(days=1)]
    assert f"<td>{yesterday.orders + 2}</td><td>{yuan(yesterday.gmv_fen + 2_000)}</td>" in row
    assert "<svg" in html and "<details" in html


def test_top_suppliers_by_what_their_lines_sold(shops, staff):
    supplier = supplier_make(name="绿源母婴用品有限公司")
    sku = first_sku(product_make(supplier=supplier, stock=50))
    order_paid(tenant=shops.a, items=[Item(sku=sku, quantity=3, retail_price_fen=8_800)])
    order_paid(tenant=shops.b, items=[Item(sku=sku, quantity=1, retail_price_fen=9_000)])
    html = staff.get("/console/analytics/").content.decode()
    assert "绿源母婴用品有限公司</th><td>2</td><td>¥354.00</td>" in html


def test_forged_periods_fall_back_to_30_days(shops, staff):
    for forged in ("1", "365", "x" * 200, "'; DROP TABLE billing_payment;--"):
        response = staff.get("/console/analytics/", {"period": forged})
        assert response.status_code == 200
        assert 'href="?period=30" aria-current="page"' in response.content.decode()


def test_the_platform_view_never_enters_a_shop_schema(shops, staff):
    payment(shops.a, 1_000)
    with CaptureQueriesContext(connection) as queries:
        assert staff.get("/console/analytics/?period=90").status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert shops.a.schema_name not in sql and shops.b.schema_name not in sql
    assert "storefront_order" not in sql
