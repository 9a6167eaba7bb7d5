"""The staff console's catalog pages: vetting queue, decisions, suppliers, curation, audit."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from catalog import services
from catalog.models import AuditEntry, Category, PriceChange, Product, Supplier
from catalog.testing import (
    category_make,
    first_sku,
    pdf_upload,
    product_make,
    staff_make,
    supplier_make,
    terms,
)
from storefront.models import ListingItem
from storefront.services import listing_create
from storefront.tasks import listing_prices_check_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

V = Product.Vetting


@pytest.fixture
def staff_client(shop_client):
    staff = staff_make()
    client = shop_client("localhost")
    client.force_login(staff)
    client.staff = staff
    return client


@pytest.mark.parametrize(
    "url",
    ["/console/catalog/", "/console/catalog/suppliers/", "/console/catalog/audit/"],
)
def test_catalog_console_is_for_staff_only(shop_client, url):
    supplier = supplier_make()
    client = shop_client("localhost")
    client.force_login(supplier.user)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_queue_lists_waiting_products_oldest_first_and_filters_by_supplier(staff_client):
    first = product_make(status=V.SUBMITTED, title="先提交的")
    second = product_make(status=V.SUBMITTED, title="后提交的")
    approved = product_make(title="早已通过的")

    page = staff_client.get("/console/catalog/").text
    assert page.index(first.title) < page.index(second.title)
    assert approved.title not in page

    filtered = staff_client.get(f"/console/catalog/?supplier={second.supplier_id}").text
    assert second.title in filtered
    assert first.title not in filtered


def test_empty_queue_says_so(staff_client):
    response = staff_client.get("/console/catalog/?q=不存在的商品名")
    assert "Nothing waiting for review." in response.text


def test_staff_review_and_approve_with_the_full_checklist(staff_client):
    product = product_make(status=V.SUBMITTED)

    staff_client.post(f"/console/catalog/products/{product.pk}/review/")
    response = staff_client.post(
        f"/console/catalog/products/{product.pk}/decide/",
        {
            "decision": "approve",
            "note": "资质齐全",
            **{f"check_{item}": "on" for item in services.CHECKLIST_ITEMS},
        },
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.vetting_status == V.APPROVED
    entry = AuditEntry.objects.get(product=product, action="product.approved")
    assert entry.actor == staff_client.staff


def test_approval_without_every_check_is_refused_in_the_console(staff_client):
    product = product_make(status=V.IN_REVIEW)

    staff_client.post(
        f"/console/catalog/products/{product.pk}/decide/",
        {"decision": "approve", "check_qualifications": "on"},
    )

    product.refresh_from_db()
    assert product.vetting_status == V.IN_REVIEW


def test_changes_requested_in_the_console_reach_the_suppliers_product_page(
    staff_client, shop_client
):
    product = product_make(status=V.IN_REVIEW)
    staff_client.post(
        f"/console/catalog/products/{product.pk}/decide/",
        {"decision": "changes", "note": "请补充食品生产许可证"},
    )
    supplier_client = shop_client("localhost")
    supplier_client.force_login(product.supplier.user)

    page = supplier_client.get(f"/supplier/products/{product.pk}/").text

    assert "请补充食品生产许可证" in page


def test_staff_approve_and_suspend_suppliers_with_history(staff_client):
    supplier = supplier_make(approved=False)
    services.supplier_document_add(
        supplier=supplier,
        kind="business_licence",
        title="营业执照扫描件",
        file=pdf_upload(),
        actor=supplier.user,
    )

    page = staff_client.get(f"/console/catalog/suppliers/{supplier.pk}/").text
    assert "营业执照扫描件" in page
    staff_client.post(f"/console/catalog/suppliers/{supplier.pk}/", {"to_status": "approved"})
    refused = staff_client.post(
        f"/console/catalog/suppliers/{supplier.pk}/", {"to_status": "suspended", "note": ""}
    )
    assert refused.status_code == 400
    staff_client.post(
        f"/console/catalog/suppliers/{supplier.pk}/",
        {"to_status": "suspended", "note": "执照过期"},
    )

    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.SUSPENDED
    assert supplier.status_changes.count() == 2


def test_staff_can_open_a_suppliers_document(staff_client):
    supplier = supplier_make()
    document = services.supplier_document_add(
        supplier=supplier, kind="business_licence", title="执照", file=pdf_upload(), actor=None
    )

    response = staff_client.get(f"/console/catalog/documents/{document.pk}/")

    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_suspend_from_the_console_makes_shop_listings_unavailable(staff_client, shops):
    product = product_make()
    with tenant_context(shops.a):
        listing_create(product=product, title="x", prices={first_sku(product).pk: 8000})

    staff_client.post(f"/console/catalog/products/{product.pk}/suspend/", {"reason": "假货投诉"})

    product.refresh_from_db()
    assert product.is_suspended
    with tenant_context(shops.a):
        item = ListingItem.objects.select_related("sku__product").get(sku=first_sku(product))
        assert item.availability == "unavailable"


def test_feature_toggle_and_curation_filters(staff_client):
    product = product_make(title="精选好物")
    staff_client.post(f"/console/catalog/products/{product.pk}/feature/", {"featured": "1"})

    product.refresh_from_db()
    assert product.is_featured
    assert product.title in staff_client.get("/console/catalog/products/?flag=featured").text


def test_staff_manage_the_category_tree(staff_client):
    staff_client.post("/console/catalog/categories/", {"name": "母婴", "position": 0})
    root = Category.objects.get(name="母婴", parent=None)
    staff_client.post(
        "/console/catalog/categories/", {"name": "奶瓶", "parent": root.pk, "position": 1}
    )
    child = Category.objects.get(name="奶瓶")
    assert child.parent == root

    response = staff_client.post(
        f"/console/catalog/categories/{root.pk}/",
        {"name": "母婴", "parent": child.pk, "position": 0, "is_active": "on"},
    )

    assert response.status_code == 400  # a category cannot move inside its own child
    staff_client.post(
        f"/console/catalog/categories/{child.pk}/",
        {"name": "奶瓶", "parent": root.pk, "position": 1},
    )
    child.refresh_from_db()
    assert child.is_active is False


def test_price_change_approved_in_the_console_applies_and_flags_shops(staff_client, shops):
    product = product_make()
    sku = first_sku(product)
    with tenant_context(shops.b):
        listing_create(product=product, title="x", prices={sku.pk: 6100})
    change = services.price_change_request(
        sku=sku,
        supplier=product.supplier,
        actor=product.supplier.user,
        terms=terms(supply=5800, suggested=9000, low=6500, high=12000),
    )
    assert product.title in staff_client.get("/console/catalog/price-changes/").text

    staff_client.post(f"/console/catalog/price-changes/{change.pk}/", {"decision": "approve"})
    # After the commit the shop's own task checks its prices (see test_catalog_price_hook.py).
    with tenant_context(shops.b):
        listing_prices_check_task.apply(kwargs={"sku_id": sku.pk, "change_id": change.pk}).get()

    change.refresh_from_db()
    assert change.status == PriceChange.Status.APPROVED
    assert change.flagged_listings == 1
    with tenant_context(shops.b):
        assert ListingItem.objects.get(sku=sku).price_flagged


def test_audit_log_shows_who_did_what_and_filters_by_action(staff_client):
    product = product_make(status=V.IN_REVIEW, title="审计样品")
    services.product_reject(product=product, actor=staff_client.staff, note="宣传用语违规")

    page = staff_client.get("/console/catalog/audit/?action=product.rejected").text

    assert staff_client.staff.username in page
    assert "审计样品" in page
    assert "product.rejected" in page


def test_long_lists_are_paginated(staff_client):
    category = category_make()
    supplier = supplier_make()
    for i in range(32):
        product_make(
            supplier=supplier, category=category, status=V.SUBMITTED, title=f"批量{i:02d}", skus=1
        )

    first = staff_client.get(f"/console/catalog/?supplier={supplier.pk}")
    second = staff_client.get(f"/console/catalog/?supplier={supplier.pk}&page=2")

    assert 'rel="next"' in first.text
    assert 'rel="next"' not in second.text
    assert "批量00" in first.text and "批量31" not in first.text
    assert "批量31" in second.text
