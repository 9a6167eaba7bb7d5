"""After the sale on the buyer's order page: shipment status, 7-day returns, the invoice."""

from __future__ import annotations

import pytest
from django.db import connection

from billing.documents.models import Invoice
from billing.fulfilment.models import ReturnCase

from .storefront_helpers import paid_order, ship_and_deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def test_the_order_page_follows_the_shipment(shops, shop_client):
    buyer, order, _line = paid_order(shops, shop_client)
    ship_and_deliver(order)

    page = buyer.get(f"/orders/{order.number}/")
    assert "SF1234567890" in page.text
    assert "Request a return" in page.text


def test_a_buyer_returns_part_of_a_line_within_seven_days(shops, shop_client):
    buyer, order, line = paid_order(shops, shop_client, quantity=2)
    ship_and_deliver(order, days_ago=3)

    answer = buyer.post(f"/orders/{order.number}/return/", {f"return_{line.pk}": "1", "reason": ""})

    assert answer.status_code == 302
    connection.set_schema_to_public()
    case = ReturnCase.objects.get(order_number=order.number)
    assert case.status == ReturnCase.Status.REQUESTED
    assert case.lines.get().quantity == 1
    page = buyer.get(f"/orders/{order.number}/")
    assert "return requested" in page.text


def test_after_seven_days_the_return_form_is_gone_and_a_forged_post_is_refused(shops, shop_client):
    buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order, days_ago=8)

    assert "Request a return" not in buyer.get(f"/orders/{order.number}/").text
    buyer.post(f"/orders/{order.number}/return/", {f"return_{line.pk}": "1"})
    connection.set_schema_to_public()
    assert not ReturnCase.objects.filter(order_number=order.number).exists()


def test_a_stranger_cannot_return_or_invoice_someone_elses_order(shops, shop_client):
    _buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    stranger = shop_client("a.localhost")

    assert (
        stranger.post(f"/orders/{order.number}/return/", {f"return_{line.pk}": "1"}).status_code
        == 404
    )
    assert stranger.post(f"/orders/{order.number}/invoice/", {"title": "x"}).status_code == 404
    connection.set_schema_to_public()
    assert not ReturnCase.objects.filter(order_number=order.number).exists()


def test_the_buyer_requests_an_invoice_with_the_order_lines(shops, shop_client):
    buyer, order, _line = paid_order(shops, shop_client, quantity=2)

    bad = buyer.post(
        f"/orders/{order.number}/invoice/",
        {"title": "杭州某某科技有限公司", "taxpayer_id": "123", "email": "mum@example.com"},
    )
    connection.set_schema_to_public()
    assert bad.status_code == 302 and not Invoice.objects.filter(order_number=order.number)
    buyer.post(
        f"/orders/{order.number}/invoice/",
        {"title": "王小明", "taxpayer_id": "", "email": "mum@example.com"},
    )

    connection.set_schema_to_public()
    invoice = Invoice.objects.get(tenant=shops.a, order_number=order.number)
    assert invoice.title == "王小明"
    assert sum(line["amount_fen"] for line in invoice.lines) == 17600
