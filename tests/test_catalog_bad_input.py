"""Numbers too big for their columns (or for any sane business), exponents, NUL bytes and text
direction overrides, posted to every supplier-portal and catalog-console form and fed to the CSV
import: each is a clear error on the form or the line, never a 500, and nothing is written."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import SKU, Category, Product, ShippingTemplate, Supplier
from catalog.services.prices import fen_parse, retail_price_check
from catalog.services.stock import stock_parse
from catalog.testing import (
    category_make,
    first_sku,
    product_make,
    shipping_make,
    staff_make,
    supplier_make,
    user_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

TWENTY_DIGITS = "9" * 20
NUL = "好物\x00"
RLO = "gnp\u202e.exe"


@pytest.fixture
def portal(shop_client):
    product = product_make(status=Product.Vetting.DRAFT)
    client = shop_client("localhost")
    client.force_login(product.supplier.user)
    return product, client


SKU_FORM = {
    "code": "NEW-1",
    "options": "",
    "supply_price": "50",
    "suggested_retail": "89",
    "min_retail": "60",
    "max_retail": "120",
    "stock": "10",
}


@pytest.mark.parametrize(
    "field, value",
    [
        ("supply_price", "1e9"),
        ("max_retail", "1e99"),
        ("max_retail", "1000000.01"),  # one fen above ¥1,000,000
        ("max_retail", TWENTY_DIGITS),
        ("max_retail", "NaN"),
        ("max_retail", "-5"),
        ("stock", TWENTY_DIGITS),
        ("stock", "10000001"),
        ("code", NUL),
        ("code", RLO),
        ("options", "颜色=红\x00"),
    ],
)
def test_new_sku_with_a_bad_value_is_a_form_error(portal, field, value):
    product, client = portal

    response = client.post(f"/supplier/products/{product.pk}/skus/new/", {**SKU_FORM, field: value})

    assert response.status_code == 400
    assert 'class="errorlist' in response.text
    assert not SKU.objects.filter(product=product, code__startswith="NEW").exists()


def test_price_above_the_limit_says_the_limit_in_yuan(portal):
    product, client = portal

    response = client.post(
        f"/supplier/products/{product.pk}/skus/new/", {**SKU_FORM, "max_retail": "2000000"}
    )

    assert "At most ¥1,000,000.00." in response.text


@pytest.mark.parametrize("value", ["1e9", TWENTY_DIGITS, "1e99", "Infinity"])
def test_price_terms_of_a_sku_refuse_huge_numbers(portal, value):
    product, client = portal
    sku = first_sku(product)

    response = client.post(
        f"/supplier/skus/{sku.pk}/prices/",
        {"supply_price": value, "suggested_retail": "89", "min_retail": "60", "max_retail": "120"},
    )

    assert response.status_code == 400
    sku.refresh_from_db()
    assert sku.supply_price_fen == 5000


@pytest.mark.parametrize("value", [TWENTY_DIGITS, "10000001", "-1", "1e3"])
def test_stock_form_refuses_what_no_shelf_holds(portal, value):
    product, client = portal
    sku = first_sku(product)

    response = client.post(
        f"/supplier/skus/{sku.pk}/stock/", {"stock": value, "expected": sku.stock}, follow=True
    )

    assert response.status_code == 200
    assert "Stock is a whole number" in response.text
    sku.refresh_from_db()
    assert sku.stock == 10


@pytest.mark.parametrize(
    "field, value",
    [
        ("default_fee", "1e99"),
        ("default_fee", "10000.01"),  # a delivery fee above ¥10,000
        ("first_kg_fee", TWENTY_DIGITS),
        ("free_over", "1e9"),
        ("name", NUL),
        ("regions", "新疆\x00"),
    ],
)
def test_shipping_template_with_a_bad_value_is_a_form_error(portal, field, value):
    product, client = portal
    before = ShippingTemplate.objects.filter(supplier=product.supplier).count()
    form = {"name": "偏远地区", "default_fee": "0", "regions": "新疆", "first_kg_fee": "20"}

    response = client.post("/supplier/shipping/", {**form, field: value})

    assert response.status_code == 400
    assert 'class="errorlist' in response.text
    assert ShippingTemplate.objects.filter(supplier=product.supplier).count() == before


@pytest.mark.parametrize(
    "field, value",
    [("title", NUL), ("title", RLO), ("weight_g", TWENTY_DIGITS), ("description", "x\x00y")],
)
def test_product_form_with_a_bad_value_is_a_form_error(portal, field, value):
    product, client = portal
    form = {
        "title": "新品",
        "category": product.category_id,
        "description": "",
        "weight_g": "500",
        "shipping_template": product.shipping_template_id,
        "return_policy": "seven_day",
    }

    created = client.post("/supplier/products/new/", {**form, field: value})
    edited = client.post(f"/supplier/products/{product.pk}/", {**form, field: value})

    assert (created.status_code, edited.status_code) == (400, 400)
    assert not Product.objects.filter(supplier=product.supplier, title="新品").exists()
    product.refresh_from_db()
    assert "\x00" not in product.title


def test_registration_with_a_nul_or_an_override_is_a_form_error(shop_client):
    client = shop_client("localhost")
    client.force_login(user_make())

    response = client.post(
        "/supplier/register/",
        {
            "company_name": "好物\x00有限公司",
            "credit_code": "91330106MA2XXXXX1Q",
            "contact_name": RLO,
            "contact_phone": "13900000000",
            "address": "杭州",
        },
    )

    assert response.status_code == 400
    assert not Supplier.objects.filter(credit_code="91330106MA2XXXXX1Q").exists()


PRODUCT_HEADER = (
    "product_ref,title,category_id,weight_g,sku_code,options,"
    "supply_price_fen,suggested_retail_fen,min_retail_fen,max_retail_fen,stock\n"
)


@pytest.mark.parametrize(
    "row",
    [
        "p1,好物\x00,{cat},500,A-1,,3000,5900,4000,7900,10",
        "p1,好物,{cat},500,A-1,,3000,5900,4000," + TWENTY_DIGITS + ",10",
        "p1,好物,{cat},500,A-1,,3000,5900,4000,1e9,10",
        "p1,好物,{cat},500,A-1,,3000,5900,4000,7900," + TWENTY_DIGITS,
        "p1,好物,{cat}," + TWENTY_DIGITS + ",A-1,,3000,5900,4000,7900,10",
        "p1,好物,{cat},500,A-1\u202e,,3000,5900,4000,7900,10",
        "p1,好物,{cat},500,A-1,,３０００,5900,4000,7900,10",  # full-width digits
    ],
)
def test_csv_import_refuses_bad_numbers_and_text_line_by_line(shop_client, row):
    supplier = supplier_make()
    shipping_make(supplier=supplier)
    category = category_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)
    raw = (PRODUCT_HEADER + row.format(cat=category.pk) + "\n").encode("utf-8")

    response = client.post(
        "/supplier/csv/",
        {"kind": "products", "file": SimpleUploadedFile("goods.csv", raw, "text/csv")},
    )

    assert response.status_code == 400
    assert "Line 2" in response.text
    assert not Product.objects.filter(supplier=supplier).exists()


def test_csv_stock_import_refuses_a_twenty_digit_stock(shop_client):
    product = product_make()
    client = shop_client("localhost")
    client.force_login(product.supplier.user)
    sku = first_sku(product)
    raw = f"product_id,sku_code,stock\n{product.pk},{sku.code},{TWENTY_DIGITS}\n".encode()

    response = client.post(
        "/supplier/csv/",
        {"kind": "stock", "file": SimpleUploadedFile("stock.csv", raw, "text/csv")},
    )

    assert response.status_code == 400
    sku.refresh_from_db()
    assert sku.stock == 10


@pytest.mark.parametrize("value", [TWENTY_DIGITS, "1e9", "²", "１２", 10**12, True, None])
def test_services_parse_numbers_strictly(value):
    with pytest.raises(ValidationError):
        fen_parse(value)
    with pytest.raises(ValidationError):
        stock_parse(value)


def test_a_creators_price_outside_the_bounds_is_explained_in_yuan():
    sku = first_sku(product_make())  # bounds ¥60.00–¥120.00

    with pytest.raises(ValidationError) as above:
        retail_price_check(sku=sku, retail_price_fen=12_001)
    with pytest.raises(ValidationError) as below:
        retail_price_check(sku=sku, retail_price_fen=5_999)

    assert above.value.messages == ["S: the price is above the maximum of ¥120.00."]
    assert below.value.messages == ["S: the price is below the minimum of ¥60.00."]


@pytest.mark.parametrize(
    "form",
    [
        {"name": "母婴\x00", "position": "0", "is_active": "on"},
        {"name": "母婴", "position": TWENTY_DIGITS, "is_active": "on"},
        {"name": "\u202e母婴", "position": "0", "is_active": "on"},
    ],
)
def test_console_category_form_refuses_bad_values(shop_client, form):
    client = shop_client("localhost")
    client.force_login(staff_make())
    before = Category.objects.count()

    response = client.post("/console/catalog/categories/", form)

    assert response.status_code == 400
    assert Category.objects.count() == before


def test_console_notes_with_a_nul_byte_are_refused_not_a_500(shop_client):
    product = product_make(status=Product.Vetting.SUBMITTED)
    client = shop_client("localhost")
    client.force_login(staff_make())
    client.post(f"/console/catalog/products/{product.pk}/review/")

    decided = client.post(
        f"/console/catalog/products/{product.pk}/decide/",
        {"decision": "changes", "note": "请补充\x00资质"},
        follow=True,
    )
    suspended = client.post(
        f"/console/catalog/products/{product.pk}/suspend/", {"reason": "抽检\x00"}, follow=True
    )

    assert (decided.status_code, suspended.status_code) == (200, 200)
    product.refresh_from_db()
    assert product.vetting_status == Product.Vetting.IN_REVIEW
    assert not product.is_suspended


def test_payout_minimum_of_1e99_is_an_error_not_a_batch(shop_client):
    client = shop_client("localhost")
    client.force_login(staff_make())

    response = client.post(
        "/console/payouts/new/", {"kind": "creator", "minimum_yuan": "1e99"}, follow=True
    )

    assert response.status_code == 200
    assert "Enter an amount in yuan" in response.text
