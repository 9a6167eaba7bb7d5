"""Scheduling flash sales: the creator's 秒杀 admin and the console's page for platform staff.

Who may (owner only; never another shop's creator), the stock taken at once and given back on
cancelling, terms that change only in buyers' favour once fans registered, and bad input that is
a form error, never a 500.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import SKU
from catalog.testing import PASSWORD, staff_make
from storefront.flash import gate
from storefront.flash.models import FlashSale
from storefront.models import ListingItem

from .c4_helpers import admin_member
from .flash_helpers import sale_make
from .storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def form_data(the_item, /, **over) -> dict:
    now = timezone.now()
    data = {
        "item": str(the_item.pk),
        "title": "10 点秒杀",
        "price": "66",
        "quantity": "20",
        "per_buyer_limit": "1",
        "announce_at": local(now + timedelta(hours=1)),
        "starts_at": local(now + timedelta(hours=3)),
        "ends_at": local(now + timedelta(hours=4)),
        "pay_minutes": "15",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def sales_of(shop, item=None) -> list[FlashSale]:
    """SHOP's sales (of ITEM's SKU when given: committed tests may leave other sales)."""
    with tenant_context(shop):
        sales = FlashSale.objects.order_by("id")
        if item is not None:
            sales = sales.filter(item__sku_id=item.sku_id)
        found = list(sales)
    connection.set_schema_to_public()
    return found


def stock(sku_id: int) -> int:
    return SKU.objects.get(pk=sku_id).stock


def test_the_owner_schedules_a_sale_and_its_units_leave_the_stock_at_once(
    shops, shop_client, django_capture_on_commit_callbacks
):
    _listing, item = listed(shops.a, stock=50)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    assert "/admin/flash/" in owner.get("/admin/").text
    assert "New flash sale" in owner.get("/admin/flash/").text
    with django_capture_on_commit_callbacks(execute=True):
        answer = owner.post("/admin/flash/new/", form_data(item))
    connection.set_schema_to_public()
    assert answer.status_code == 302, answer.content[:2000]
    (sale,) = sales_of(shops.a, item)
    assert (sale.price_fen, sale.quantity, sale.state, sale.for_platform) == (
        6600,
        20,
        "scheduled",
        False,
    )
    assert stock(item.sku_id) == 30
    # Scheduling loaded the gate: the countdown reads from Redis from now on.
    status = gate.gate_status(schema="shop_a", sale_id=sale.pk)
    assert (status["state"], status["left"]) == ("upcoming", 20)
    page = owner.get(f"/admin/flash/{sale.pk}/")
    assert page.status_code == 200 and "Time to sell out" in page.text


def test_scheduling_more_than_the_stock_is_refused_with_a_clear_message(shops, shop_client):
    _listing, item = listed(shops.a, stock=5)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    answer = owner.post("/admin/flash/new/", form_data(item, quantity="6"))
    connection.set_schema_to_public()
    assert answer.status_code == 400
    assert "Only 5 in stock" in answer.text
    assert sales_of(shops.a, item) == [] and stock(item.sku_id) == 5


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"price": "59.99"}, "price"),  # below the supplier's bounds
        ({"price": "99"}, "price"),  # above the shop's price
        ({"price": "1e9"}, "price"),
        ({"price": "66\x00"}, "price"),
        ({"title": "秒杀\x00"}, "title"),
        ({"quantity": "99999999999999999999"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"per_buyer_limit": "-1"}, "per_buyer_limit"),
        ({"pay_minutes": "100000"}, "pay_minutes"),
        ({"ends_at": "2020-01-01T00:00"}, "ends_at"),  # end before start
        ({"announce_at": "2099-01-01T00:00"}, "announce_at"),  # after the start
        ({"starts_at": "not a time"}, "starts_at"),
        ({"item": "999999999"}, "item"),
    ],
)
def test_bad_input_is_a_form_error_never_a_500(shops, shop_client, over, field):
    _listing, item = listed(shops.a, stock=50)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    answer = owner.post("/admin/flash/new/", form_data(item, **over))
    connection.set_schema_to_public()
    assert answer.status_code == 400, (over, answer.status_code)
    assert re.search(rf'field-{field}">.*?class="error-message" role="alert"', answer.text, re.S)
    assert sales_of(shops.a, item) == [] and stock(item.sku_id) == 50


@pytest.mark.parametrize("role", ["editor", "service", "none"])
def test_roles_without_manage_shop_cannot_see_or_change_sales(shops, shop_client, role):
    sale = sale_make(shops.a, quantity=3, started=False)
    client = admin_member(shops.a, shop_client, "a", role)
    dashboard = client.get("/admin/")
    if dashboard.status_code == 200:
        assert '"/admin/flash/"' not in dashboard.text
    for url in (
        "/admin/flash/",
        "/admin/flash/new/",
        f"/admin/flash/{sale.pk}/",
        f"/admin/flash/{sale.pk}/edit/",
        f"/admin/flash/{sale.pk}/cancel/",
    ):
        assert client.get(url).status_code in (302, 403), url
    assert client.post(f"/admin/flash/{sale.pk}/cancel/").status_code in (302, 403)
    connection.set_schema_to_public()
    assert sales_of(shops.a, sale.item)[-1].state == "scheduled"


def test_another_shops_creator_finds_none_of_shop_as_sales(shops, shop_client):
    sale = sale_make(shops.a, quantity=3, started=False)
    other = admin_member(shops.b, shop_client, "b", "owner")
    assert sale.display_title not in other.get("/admin/flash/").text
    for url in (f"/admin/flash/{sale.pk}/", f"/admin/flash/{sale.pk}/edit/"):
        assert other.get(url).status_code == 404
    assert other.post(f"/admin/flash/{sale.pk}/cancel/").status_code == 404
    connection.set_schema_to_public()
    assert sales_of(shops.a, sale.item)[-1].state == "scheduled"


def test_cancelling_asks_first_then_gives_every_unit_back_once(shops, shop_client):
    sale = sale_make(shops.a, quantity=7, stock=10, started=False)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    ask = owner.get(f"/admin/flash/{sale.pk}/cancel/")
    assert ask.status_code == 200 and "Yes, cancel the sale" in ask.text
    assert sales_of(shops.a, sale.item)[-1].state == "scheduled"
    assert stock(sale.item.sku_id) == 3
    assert owner.post(f"/admin/flash/{sale.pk}/cancel/").status_code == 302
    again = owner.post(f"/admin/flash/{sale.pk}/cancel/")
    assert again.status_code == 409
    connection.set_schema_to_public()
    assert sales_of(shops.a, sale.item)[-1].state == "cancelled"
    assert stock(sale.item.sku_id) == 10


def test_once_fans_registered_terms_change_only_in_their_favour(shops, shop_client):
    sale = sale_make(shops.a, quantity=5, stock=20, started=False, price=7000)
    assert gate.gate_register(schema="shop_a", sale_id=sale.pk, fan_id=1)
    owner = admin_member(shops.a, shop_client, "a", "owner")
    base = form_data(
        sale.item,
        price="70",
        quantity="5",
        announce_at=local(sale.announce_at),
        starts_at=local(sale.starts_at),
        ends_at=local(sale.ends_at),
    )
    base.pop("item")
    for over, field in (
        ({"price": "75"}, "price"),
        ({"quantity": "4"}, "quantity"),
        ({"ends_at": local(sale.ends_at - timedelta(minutes=30))}, "ends_at"),
        ({"starts_at": local(sale.starts_at + timedelta(minutes=30))}, "starts_at"),
        ({"per_buyer_limit": "3"}, "per_buyer_limit"),
    ):
        answer = owner.post(f"/admin/flash/{sale.pk}/edit/", {**base, **over})
        assert answer.status_code == 400, over
        assert re.search(rf'field-{field}">.*?role="alert"', answer.text, re.S), over
    better = {"price": "65", "quantity": "8", "ends_at": local(sale.ends_at + timedelta(hours=1))}
    assert owner.post(f"/admin/flash/{sale.pk}/edit/", {**base, **better}).status_code == 302
    connection.set_schema_to_public()
    saved = sales_of(shops.a, sale.item)[-1]
    assert (saved.price_fen, saved.quantity) == (6500, 8)
    assert stock(sale.item.sku_id) == 12  # three more units taken from the stock


def test_platform_staff_schedule_a_sale_in_one_shop(shops, shop_client):
    _listing, item = listed(shops.a, stock=30, title="只在 A 店的好物")
    staff = staff_make()
    console = shop_client("localhost")
    assert console.login(username=staff.username, password=PASSWORD)
    page = console.get(f"/console/shops/{shops.a.pk}/flash/")
    assert page.status_code == 200 and f'value="{item.pk}"' in page.text
    answer = console.post(f"/console/shops/{shops.a.pk}/flash/", form_data(item, quantity="10"))
    assert answer.status_code == 302
    connection.set_schema_to_public()
    sale = sales_of(shops.a, item)[-1]
    assert (sale.for_platform, sale.created_by_id, sale.quantity) == (True, staff.pk, 10)
    assert stock(item.sku_id) == 20
    # Shop A's goods are not shop B's: B's page does not offer them, nor takes their id.
    assert "只在 A 店的好物" not in console.get(f"/console/shops/{shops.b.pk}/flash/").text
    with tenant_context(shops.b):
        same_id_in_b = ListingItem.objects.filter(pk=item.pk).exists()
    connection.set_schema_to_public()
    if not same_id_in_b:
        answer = console.post(f"/console/shops/{shops.b.pk}/flash/", form_data(item, quantity="1"))
        assert answer.status_code == 400 and sales_of(shops.b, item) == []
    bad = console.post(f"/console/shops/{shops.a.pk}/flash/", form_data(item, price="1\x00"))
    assert bad.status_code == 400
    # Not staff: no console.
    creator = shop_client("localhost")
    assert creator.get(f"/console/shops/{shops.a.pk}/flash/").status_code == 302
