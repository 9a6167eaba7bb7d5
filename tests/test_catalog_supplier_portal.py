"""The supplier portal: a supplier works on its own rows only; uploads are checked and go to S3."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import SKU, PriceChange, Product, ProductImage, SupplierDocument
from catalog.testing import (
    category_make,
    first_sku,
    pdf_upload,
    png_upload,
    product_make,
    shipping_make,
    supplier_make,
    user_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]


@pytest.fixture
def two_suppliers(catalog_media, shop_client):
    a = product_make(title="A的商品")
    b = product_make(title="B的商品")
    doc_b = services.supplier_document_add(
        supplier=b.supplier,
        kind="business_licence",
        title="B营业执照",
        file=pdf_upload(),
        actor=b.supplier.user,
    )
    client = shop_client("localhost")
    client.force_login(a.supplier.user)
    return a, b, doc_b, client


def test_portal_sends_anonymous_visitors_to_log_in(shop_client):
    response = shop_client("localhost").get("/supplier/products/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_user_without_a_supplier_is_asked_to_register_and_can(shop_client):
    user = user_make()
    client = shop_client("localhost")
    client.force_login(user)

    assert client.get("/supplier/").url == "/supplier/register/"
    response = client.post(
        "/supplier/register/",
        {
            "company_name": "杭州好物供应链有限公司",
            "credit_code": "91330106MA2XXXXX1Q",
            "contact_name": "陈",
            "contact_phone": "13900000000",
            "address": "杭州",
        },
    )

    assert response.status_code == 302
    assert user.supplier.status == "pending"


def test_supplier_sees_only_its_own_products(two_suppliers):
    a, b, _doc, client = two_suppliers

    response = client.get("/supplier/products/")

    assert response.status_code == 200
    assert a.title in response.text
    assert b.title not in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/supplier/products/{product}/",
        "/supplier/products/{product}/skus/new/",
        "/supplier/products/{product}/images/new/",
        "/supplier/skus/{sku}/prices/",
        "/supplier/documents/{doc}/file/",
    ],
)
def test_guessing_another_suppliers_ids_gives_404(two_suppliers, url):
    _a, b, doc_b, client = two_suppliers

    response = client.get(url.format(product=b.pk, sku=first_sku(b).pk, doc=doc_b.pk))

    assert response.status_code == 404


def test_another_suppliers_goods_cannot_be_changed_by_posting_to_their_urls(two_suppliers):
    _a, b, _doc, client = two_suppliers
    sku = first_sku(b)

    responses = [
        client.post(f"/supplier/skus/{sku.pk}/stock/", {"stock": 0}),
        client.post(
            f"/supplier/skus/{sku.pk}/prices/",
            {"supply_price": "1", "suggested_retail": "2", "min_retail": "1", "max_retail": "3"},
        ),
        client.post(f"/supplier/products/{b.pk}/submit/"),
        client.post(f"/supplier/products/{b.pk}/active/", {"active": "0"}),
        client.post(f"/supplier/products/{b.pk}/images/new/", {"file": png_upload(), "alt": "x"}),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    sku.refresh_from_db()
    b.refresh_from_db()
    assert sku.stock == 10
    assert b.is_active
    assert not PriceChange.objects.filter(sku=sku).exists()
    assert b.images.count() == 1


def test_another_suppliers_documents_are_not_listed(two_suppliers):
    _a, _b, doc_b, client = two_suppliers
    assert doc_b.title not in client.get("/supplier/documents/").text


def test_supplier_edits_stock_from_the_product_page(two_suppliers):
    a, _b, _doc, client = two_suppliers
    sku = first_sku(a)

    response = client.post(f"/supplier/skus/{sku.pk}/stock/", {"stock": 42})

    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.stock == 42


@pytest.mark.parametrize("stock", ["-1", "2.5", "abc"])
def test_portal_refuses_bad_stock_and_keeps_the_old_number(two_suppliers, stock):
    a, _b, _doc, client = two_suppliers
    sku = first_sku(a)

    client.post(f"/supplier/skus/{sku.pk}/stock/", {"stock": stock})

    sku.refresh_from_db()
    assert sku.stock == 10


def test_price_change_from_the_portal_on_an_approved_product_waits_for_review(two_suppliers):
    a, _b, _doc, client = two_suppliers
    sku = first_sku(a)

    response = client.post(
        f"/supplier/skus/{sku.pk}/prices/",
        {
            "supply_price": "55.00",
            "suggested_retail": "99",
            "min_retail": "70",
            "max_retail": "130.5",
        },
    )

    assert response.status_code == 302
    change = PriceChange.objects.get(sku=sku)
    assert (change.supply_price_fen, change.max_retail_fen) == (5500, 13050)
    sku.refresh_from_db()
    assert sku.supply_price_fen == 5000


def test_portal_price_form_refuses_fractions_of_a_fen(two_suppliers):
    a, _b, _doc, client = two_suppliers
    sku = first_sku(a)

    response = client.post(
        f"/supplier/skus/{sku.pk}/prices/",
        {
            "supply_price": "55.001",
            "suggested_retail": "99",
            "min_retail": "70",
            "max_retail": "130",
        },
    )

    assert response.status_code == 400
    assert not PriceChange.objects.filter(sku=sku).exists()


def test_supplier_creates_a_product_with_a_sku_and_submits_it(catalog_media, shop_client):
    supplier = supplier_make()
    shipping = shipping_make(supplier=supplier)
    category = category_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)

    response = client.post(
        "/supplier/products/new/",
        {
            "title": "手工皂",
            "category": category.pk,
            "description": "<p>温和</p><script>x()</script>",
            "weight_g": 120,
            "shipping_template": shipping.pk,
            "return_policy": "seven_day",
        },
    )
    product = Product.objects.get(supplier=supplier, title="手工皂")
    assert response.url == f"/supplier/products/{product.pk}/"
    assert "script" not in product.description

    client.post(
        f"/supplier/products/{product.pk}/skus/new/",
        {
            "code": "SOAP-1",
            "options": "香型=薰衣草",
            "supply_price": "12",
            "suggested_retail": "29.9",
            "min_retail": "19.9",
            "max_retail": "39.9",
            "stock": 50,
        },
    )
    client.post(f"/supplier/products/{product.pk}/images/new/", {"file": png_upload(), "alt": "皂"})
    client.post(f"/supplier/products/{product.pk}/submit/")

    product.refresh_from_db()
    assert product.vetting_status == Product.Vetting.SUBMITTED
    sku = SKU.objects.get(product=product)
    assert (sku.suggested_retail_fen, sku.stock, sku.options) == (2990, 50, {"香型": "薰衣草"})


def test_qualification_documents_land_on_s3_under_the_public_prefix(catalog_s3, shop_client):
    client_s3, bucket = catalog_s3
    supplier = supplier_make(approved=False)
    client = shop_client("localhost")
    client.force_login(supplier.user)

    response = client.post(
        "/supplier/documents/",
        {"kind": "business_licence", "title": "营业执照", "file": pdf_upload("licence.pdf")},
    )

    assert response.status_code == 302
    document = SupplierDocument.objects.get(supplier=supplier)
    assert document.file.name.startswith(f"public/catalog/suppliers/{supplier.pk}/documents/")
    assert re.fullmatch(r".*/documents/[0-9a-f]{32}\.pdf", document.file.name)  # unguessable
    body = client_s3.get_object(Bucket=bucket, Key=document.file.name)["Body"].read()
    assert body.startswith(b"%PDF-")
    download = client.get(f"/supplier/documents/{document.pk}/file/")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_product_images_land_on_s3(catalog_s3):
    client_s3, bucket = catalog_s3
    product = product_make(status=Product.Vetting.DRAFT)

    image = ProductImage.objects.get(product=product)

    assert image.file.name.startswith(f"public/catalog/products/{product.pk}/images/")
    assert (image.width, image.height) == (8, 8)
    assert client_s3.head_object(Bucket=bucket, Key=image.file.name)["ContentLength"] > 0


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("licence.exe", b"MZ\x90\x00binary"),
        ("licence.pdf", b"<html>not a pdf</html>"),
        ("licence.pdf", b""),
        ("licence.png", b"%PDF-1.4 pretending to be an image"),
        ("licence.docx", b"PK\x03\x04"),
    ],
)
def test_documents_of_the_wrong_type_are_refused(catalog_media, shop_client, name, content):
    supplier = supplier_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)

    response = client.post(
        "/supplier/documents/",
        {"kind": "business_licence", "title": "x", "file": SimpleUploadedFile(name, content)},
    )

    assert response.status_code == 400
    assert not SupplierDocument.objects.filter(supplier=supplier).exists()


def test_oversized_document_is_refused(catalog_media, shop_client):
    supplier = supplier_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))

    response = client.post(
        "/supplier/documents/", {"kind": "business_licence", "title": "大", "file": big}
    )

    assert response.status_code == 400
    assert not SupplierDocument.objects.filter(supplier=supplier).exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.png", _jpeg_bytes()),  # content does not match the name
        ("photo.gif", b"GIF89a...."),
        ("photo.jpg", b"\xff\xd8\xff garbage"),
        ("photo.svg", b"<svg onload='x()'/>"),
    ],
)
def test_images_of_the_wrong_type_are_refused(two_suppliers, name, content):
    a, _b, _doc, client = two_suppliers

    response = client.post(
        f"/supplier/products/{a.pk}/images/new/",
        {"file": SimpleUploadedFile(name, content), "alt": "x"},
    )

    assert response.status_code == 400
    assert a.images.count() == 1


def test_oversized_image_is_refused(two_suppliers):
    a, _b, _doc, client = two_suppliers
    big = SimpleUploadedFile("big.png", png_upload().read() + b"\0" * (5 * 1024 * 1024))

    response = client.post(f"/supplier/products/{a.pk}/images/new/", {"file": big})

    assert response.status_code == 400
    assert a.images.count() == 1


def test_supplier_edits_a_draft_but_not_an_approved_product(catalog_media, shop_client):
    draft = product_make(status=Product.Vetting.DRAFT)
    approved = product_make(supplier=draft.supplier)
    client = shop_client("localhost")
    client.force_login(draft.supplier.user)
    form = {
        "title": "新标题",
        "category": draft.category_id,
        "description": "<p>新描述</p>",
        "weight_g": 700,
        "shipping_template": draft.shipping_template_id,
        "return_policy": "custom_made",
    }

    client.post(f"/supplier/products/{draft.pk}/", form)
    client.post(
        f"/supplier/products/{approved.pk}/",
        {**form, "shipping_template": approved.shipping_template_id},
    )

    draft.refresh_from_db()
    approved.refresh_from_db()
    assert (draft.title, draft.weight_g, draft.return_policy) == ("新标题", 700, "custom_made")
    assert approved.title != "新标题"


def test_portal_stock_edit_over_a_stale_page_keeps_the_live_number(two_suppliers):
    a, _b, _doc, client = two_suppliers
    sku = first_sku(a)
    services.sku_stock_reserve(sku_id=sku.pk, quantity=4)  # sold while the page was open

    client.post(f"/supplier/skus/{sku.pk}/stock/", {"stock": 10, "expected": 10})

    sku.refresh_from_db()
    assert sku.stock == 6


SIGNUP = {
    "username": "haowu-supply",
    "email": "ops@haowu.example.com",
    "password": "Xk9-long-enough-pass",
    "company_name": "好物供应链（杭州）有限公司",
    "credit_code": "91330106MA2SIGNUP",
    "contact_name": "周",
    "contact_phone": "13700000000",
    "address": "",
}


def test_visitor_signs_up_as_a_supplier_in_one_step(shop_client):
    client = shop_client("localhost")

    response = client.post("/supplier/register/", {**SIGNUP, "credit_code": "91330106MA2SIGNUP1"})

    assert response.status_code == 302
    user = get_user_model().objects.get(username="haowu-supply")
    assert user.supplier.status == "pending"
    assert not user.is_staff
    assert client.get("/supplier/").status_code == 200  # logged in as the new supplier


@pytest.mark.parametrize(
    "change",
    [{"password": "123"}, {"credit_code": "short"}, {"username": ""}],
)
def test_bad_supplier_signup_creates_neither_account_nor_supplier(shop_client, change):
    response = shop_client("localhost").post(
        "/supplier/register/", {**SIGNUP, "credit_code": "91330106MA2SIGNUP2", **change}
    )

    assert response.status_code == 400
    assert not get_user_model().objects.filter(username=SIGNUP["username"]).exists()


def test_signup_with_a_registered_credit_code_leaves_no_orphan_account(shop_client):
    existing = supplier_make()

    response = shop_client("localhost").post(
        "/supplier/register/", {**SIGNUP, "credit_code": existing.credit_code}
    )

    assert response.status_code == 400
    assert not get_user_model().objects.filter(username=SIGNUP["username"]).exists()


def test_stock_page_lists_only_my_skus_and_saves_back_to_itself(two_suppliers):
    a, b, _doc, client = two_suppliers
    sku = first_sku(a)

    page = client.get("/supplier/stock/").text
    response = client.post(
        f"/supplier/skus/{sku.pk}/stock/",
        {"stock": 25, "expected": 10, "back": "stock", "page": "1"},
    )

    assert first_sku(a).code in page
    assert first_sku(b).code not in page
    assert response.url == "/supplier/stock/?page=1"
    sku.refresh_from_db()
    assert sku.stock == 25


def test_supplier_removes_an_image_from_a_draft_but_it_is_kept(catalog_media, shop_client):
    draft = product_make(status=Product.Vetting.DRAFT)
    image = draft.images.get()
    client = shop_client("localhost")
    client.force_login(draft.supplier.user)

    client.post(f"/supplier/products/{draft.pk}/images/{image.pk}/remove/")

    image.refresh_from_db()
    assert image.is_hidden
    assert image.file.name  # the row and the file stay for the record


def test_images_of_approved_products_or_other_suppliers_cannot_be_removed(two_suppliers):
    a, b, _doc, client = two_suppliers
    mine = a.images.get()
    theirs = b.images.get()

    client.post(f"/supplier/products/{a.pk}/images/{mine.pk}/remove/")
    other = client.post(f"/supplier/products/{b.pk}/images/{theirs.pk}/remove/")
    crossed = client.post(f"/supplier/products/{a.pk}/images/{theirs.pk}/remove/")

    assert (other.status_code, crossed.status_code) == (404, 404)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert not mine.is_hidden  # approved: images change only through a new review
    assert not theirs.is_hidden
