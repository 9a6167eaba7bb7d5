"""CSV export and all-or-nothing imports of products and stock, in the service and the portal."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import csv_io
from catalog.models import SKU, Product
from catalog.testing import category_make, first_sku, product_make, shipping_make, supplier_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

PRODUCT_HEADER = (
    "product_ref,title,category_id,weight_g,sku_code,options,"
    "supply_price_fen,suggested_retail_fen,min_retail_fen,max_retail_fen,stock\n"
)


def _products_csv(category_id: int, middle_row: str | None = None) -> bytes:
    rows = [
        f"p1,有机米粉,{category_id},500,MF-1,口味=原味,3000,5900,4000,7900,100",
        f"p1,有机米粉,{category_id},500,MF-2,口味=南瓜,3000,5900,4000,7900,80",
    ]
    if middle_row is not None:
        rows.append(middle_row)
    rows.append(f"p2,婴儿湿巾,{category_id},800,WP-1,,1500,2900,2000,3900,500")
    return (PRODUCT_HEADER + "\n".join(rows) + "\n").encode("utf-8")


def test_export_lists_every_sku_with_prices_and_stock():
    supplier = supplier_make()
    product = product_make(supplier=supplier, stock=12)

    text = csv_io.export_csv(supplier=supplier).decode("utf-8-sig")

    lines = text.strip().splitlines()
    assert lines[0].split(",") == csv_io.EXPORT_HEADERS
    assert len(lines) == 1 + product.skus.count()
    assert f"{product.pk},{product.title},approved" in lines[1]
    assert lines[1].endswith(",5000,8900,6000,12000,12")


def test_export_then_reimport_with_new_stock_updates_only_stock():
    supplier = supplier_make()
    product = product_make(supplier=supplier, stock=12)
    text = csv_io.export_csv(supplier=supplier).decode("utf-8-sig")
    edited = text.replace(",12\r\n", ",30\r\n").replace(",12\n", ",30\n")

    result = csv_io.stock_import(supplier=supplier, actor=supplier.user, raw=edited.encode())

    assert result.skus_updated == 2
    assert set(product.skus.values_list("stock", flat=True)) == {30}
    assert first_sku(product).supply_price_fen == 5000


def test_good_product_file_creates_drafts_grouped_by_product_ref():
    supplier = supplier_make()
    shipping_make(supplier=supplier)
    category = category_make()

    result = csv_io.product_import(
        supplier=supplier, actor=supplier.user, raw=_products_csv(category.pk)
    )

    assert len(result.products_created) == 2
    rice = Product.objects.get(supplier=supplier, title="有机米粉")
    assert rice.vetting_status == Product.Vetting.DRAFT
    assert sorted(rice.skus.values_list("code", "stock")) == [("MF-1", 100), ("MF-2", 80)]
    assert rice.skus.get(code="MF-2").options == {"口味": "南瓜"}


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("p3,坏价格,{cat},500,X-1,,3000,5900,4000,7900,-1", "negative"),
        ("p3,坏价格,{cat},500,X-1,,30.5,5900,4000,7900,1", "whole number"),
        ("p3,超出范围,{cat},500,X-1,,3000,9900,4000,7900,1", "between"),
        ("p3,无类目,999999,500,X-1,,3000,5900,4000,7900,1", "category"),
        ("p3,零重量,{cat},0,X-1,,3000,5900,4000,7900,1", "weight"),
    ],
)
def test_a_bad_row_in_the_middle_imports_nothing_and_names_its_line(bad_row, expected):
    supplier = supplier_make()
    shipping_make(supplier=supplier)
    category = category_make()
    before = Product.objects.filter(supplier=supplier).count()

    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.product_import(
            supplier=supplier,
            actor=supplier.user,
            raw=_products_csv(category.pk, bad_row.format(cat=category.pk)),
        )

    assert [line for line, _m in exc.value.errors] == [4]
    assert expected in exc.value.errors[0][1].lower()
    assert Product.objects.filter(supplier=supplier).count() == before


def test_file_in_a_legacy_encoding_is_refused_with_a_clear_message():
    supplier = supplier_make()
    raw = ("product_id,sku_code,stock\n1,红色,5\n").encode("gbk")

    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.stock_import(supplier=supplier, actor=supplier.user, raw=raw)

    assert "UTF-8" in exc.value.errors[0][1]


def test_file_missing_columns_is_refused_naming_them():
    supplier = supplier_make()
    product = product_make(supplier=supplier, stock=3)
    raw = f"product_id,sku_code\n{product.pk},{first_sku(product).code}\n".encode()

    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.stock_import(supplier=supplier, actor=supplier.user, raw=raw)

    assert exc.value.errors[0][0] == 1
    assert "stock" in exc.value.errors[0][1]
    assert first_sku(product).stock == 3


def test_bad_stock_row_in_the_middle_leaves_every_stock_unchanged():
    supplier = supplier_make()
    product = product_make(supplier=supplier, stock=3, skus=3)
    skus = list(product.skus.order_by("id"))
    raw = (
        "product_id,sku_code,stock\n"
        f"{product.pk},{skus[0].code},50\n"
        f"{product.pk},{skus[1].code},-4\n"
        f"{product.pk},{skus[2].code},70\n"
    ).encode()

    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.stock_import(supplier=supplier, actor=supplier.user, raw=raw)

    assert exc.value.errors[0][0] == 3
    assert set(SKU.objects.filter(product=product).values_list("stock", flat=True)) == {3}


def test_stock_import_cannot_touch_another_suppliers_skus():
    mine = supplier_make()
    theirs = product_make(stock=9)
    raw = f"product_id,sku_code,stock\n{theirs.pk},{first_sku(theirs).code},0\n".encode()

    with pytest.raises(csv_io.CsvImportError) as exc:
        csv_io.stock_import(supplier=mine, actor=mine.user, raw=raw)

    assert exc.value.errors[0][0] == 2
    assert first_sku(theirs).stock == 9


def test_portal_import_shows_line_numbered_errors_and_imports_nothing(shop_client):
    supplier = supplier_make()
    shipping_make(supplier=supplier)
    category = category_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)
    raw = _products_csv(category.pk, f"p3,坏,{category.pk},500,X,,3000,5900,4000,7900,-1")

    response = client.post(
        "/supplier/csv/",
        {"kind": "products", "file": SimpleUploadedFile("goods.csv", raw, "text/csv")},
    )

    assert response.status_code == 400
    assert "Line 4" in response.text
    assert not Product.objects.filter(supplier=supplier).exists()


def test_portal_export_downloads_only_my_rows(shop_client):
    mine = product_make(title="我的尿不湿")
    other = product_make(title="别人的奶瓶")
    client = shop_client("localhost")
    client.force_login(mine.supplier.user)

    response = client.get("/supplier/csv/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert mine.title in body
    assert other.title not in body
