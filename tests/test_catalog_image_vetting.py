"""Images of an approved product change only through staff review, like its prices: an image a
supplier adds, removes or moves shows in no shop until staff approve the change."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from catalog.models import ImageChange, Product, ProductImage
from catalog.selectors import shown_images
from catalog.services.images import image_change_approve, product_image_add
from catalog.testing import png_upload, product_make, staff_make
from cms.selectors import card_listings, listing_images
from tests.storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def _supplier_client(shop_client, product):
    client = shop_client("localhost")
    client.force_login(product.supplier.user)
    return client


def _staff_client(shop_client):
    client = shop_client("localhost")
    client.force_login(staff_make())
    return client


def _shop_images(shop, listing) -> list[int]:
    with tenant_context(shop):
        return [i.pk for i in listing_images(card_listings().get(pk=listing.pk))]


def _two_shown_images(product: Product) -> list[ProductImage]:
    """An approved product with a second image, added and approved through review."""
    product_image_add(
        product=product, supplier=product.supplier, actor=product.supplier.user, file=png_upload()
    )
    image_change_approve(change=ImageChange.objects.get(product=product), actor=staff_make())
    return list(shown_images(product))


def test_an_image_added_to_an_approved_product_shows_nowhere_until_staff_approve(
    shops, shop_client
):
    listing, _item = listed(shops.a)
    product = listing.product
    old = product.images.get()
    supplier = _supplier_client(shop_client, product)

    response = supplier.post(
        f"/supplier/products/{product.pk}/images/new/",
        {"file": png_upload("new.png"), "alt": "新包装"},
    )

    assert response.status_code == 302
    new = product.images.exclude(pk=old.pk).get()
    change = ImageChange.objects.get(product=product)
    assert (change.kind, change.status, change.image_id) == ("add", "pending", new.pk)
    # Not in the catalog's reads, not on the shop's card data, not on the product page.
    assert [i.pk for i in shown_images(product)] == [old.pk]
    assert _shop_images(shops.a, listing) == [old.pk]
    page = shop_client("a.localhost").get(f"/shop/p/{listing.pk}/")
    assert old.file.url in page.text
    assert new.file.url not in page.text
    # The supplier sees it waiting; staff see it in their queue.
    assert "add an image" in supplier.get(f"/supplier/products/{product.pk}/").text
    staff = _staff_client(shop_client)
    assert new.file.url in staff.get("/console/catalog/image-changes/").text

    decided = staff.post(f"/console/catalog/image-changes/{change.pk}/", {"decision": "approve"})

    assert decided.status_code == 302
    assert [i.pk for i in shown_images(product)] == [old.pk, new.pk]
    assert _shop_images(shops.a, listing) == [old.pk, new.pk]


def test_removing_an_image_or_a_new_cover_wait_for_staff(shops, shop_client):
    listing, _item = listed(shops.a)
    product = listing.product
    first, second = _two_shown_images(product)
    supplier = _supplier_client(shop_client, product)

    supplier.post(f"/supplier/products/{product.pk}/images/{first.pk}/remove/")
    supplier.post(f"/supplier/products/{product.pk}/images/{second.pk}/first/")

    assert _shop_images(shops.a, listing) == [first.pk, second.pk]  # nothing moved yet
    removal = ImageChange.objects.get(product=product, kind="remove", status="pending")
    reorder = ImageChange.objects.get(product=product, kind="reorder", status="pending")
    assert reorder.order == [second.pk, first.pk]

    staff = _staff_client(shop_client)
    staff.post(f"/console/catalog/image-changes/{reorder.pk}/", {"decision": "approve"})
    assert _shop_images(shops.a, listing) == [second.pk, first.pk]
    staff.post(f"/console/catalog/image-changes/{removal.pk}/", {"decision": "approve"})
    assert _shop_images(shops.a, listing) == [second.pk]
    first.refresh_from_db()
    assert first.is_hidden and first.file.name  # kept for the record


def test_the_last_image_of_a_product_on_sale_cannot_be_removed(shop_client, catalog_media):
    product = product_make()
    image = product.images.get()

    response = _supplier_client(shop_client, product).post(
        f"/supplier/products/{product.pk}/images/{image.pk}/remove/", follow=True
    )

    assert "keeps at least one image" in response.text
    assert not ImageChange.objects.filter(product=product).exists()
    image.refresh_from_db()
    assert not image.is_hidden


def test_a_rejected_image_never_shows_and_the_supplier_reads_why(shops, shop_client):
    listing, _item = listed(shops.a)
    product = listing.product
    supplier = _supplier_client(shop_client, product)
    supplier.post(f"/supplier/products/{product.pk}/images/new/", {"file": png_upload()})
    change = ImageChange.objects.get(product=product)
    staff = _staff_client(shop_client)

    without_reason = staff.post(
        f"/console/catalog/image-changes/{change.pk}/", {"decision": "reject", "note": " "}
    )
    staff.post(
        f"/console/catalog/image-changes/{change.pk}/",
        {"decision": "reject", "note": "图片含有未经授权的商标"},
    )

    assert without_reason.status_code == 302
    change.refresh_from_db()
    assert change.status == "rejected"
    assert _shop_images(shops.a, listing) == [product.images.order_by("id").first().pk]
    page = supplier.get(f"/supplier/products/{product.pk}/").text
    assert "rejected" in page and "图片含有未经授权的商标" in page


def test_only_staff_decide_image_changes(shop_client, catalog_media):
    product = product_make()
    supplier = _supplier_client(shop_client, product)
    supplier.post(f"/supplier/products/{product.pk}/images/new/", {"file": png_upload()})
    change = ImageChange.objects.get(product=product)

    response = supplier.post(
        f"/console/catalog/image-changes/{change.pk}/", {"decision": "approve"}
    )

    assert response.status_code == 302 and "/login/" in response["Location"]
    change.refresh_from_db()
    assert change.status == "pending"
    assert product.images.filter(is_hidden=False).count() == 1


@pytest.mark.parametrize("status", [Product.Vetting.SUBMITTED, Product.Vetting.IN_REVIEW])
def test_images_do_not_change_while_staff_review_the_product(shop_client, catalog_media, status):
    product = product_make(status=status)

    response = _supplier_client(shop_client, product).post(
        f"/supplier/products/{product.pk}/images/new/", {"file": png_upload()}
    )

    assert response.status_code == 400
    assert product.images.count() == 1
