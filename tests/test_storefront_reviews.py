"""Reviews: after delivery only, once per line, photos checked; the creator hides them; the
catalog's aggregate follows; another shop never shows them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template import Context, Template
from django_tenants.utils import tenant_context

from catalog.models import Product
from catalog.testing import png_upload
from storefront.models import Review

from .storefront_helpers import paid_order, ship_and_deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def product_of(line) -> Product:
    return Product.objects.get(skus__pk=line.sku_id)


def test_a_review_waits_for_delivery_then_counts_once(shops, shop_client):
    buyer, order, line = paid_order(shops, shop_client)
    early = buyer.post(f"/orders/{order.number}/review/", {"line": line.pk, "rating": "5"})
    assert early.status_code == 302
    assert "once it has been delivered" in buyer.get(f"/orders/{order.number}/").text
    ship_and_deliver(order)

    buyer.post(
        f"/orders/{order.number}/review/",
        {"line": line.pk, "rating": "4", "text": "宝宝很喜欢", "photos": [png_upload()]},
    )
    again = buyer.post(f"/orders/{order.number}/review/", {"line": line.pk, "rating": "1"})

    assert "already reviewed" in buyer.get(again["Location"]).text
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        review = Review.objects.get(line_id=line.pk)
        assert (review.rating, review.text, review.photos.count()) == (4, "宝宝很喜欢", 1)
        assert review.photos.get().image.name.startswith("shop_a/")
    product = product_of(line)
    assert (product.rating_count, product.rating_total) == (1, 4)


@pytest.mark.parametrize("rating", ["0", "6", "", "4.5", "five"])
def test_a_rating_outside_one_to_five_is_refused(shops, shop_client, rating):
    buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    answer = buyer.post(f"/orders/{order.number}/review/", {"line": line.pk, "rating": rating})
    assert "from 1 to 5 stars" in buyer.get(answer["Location"]).text
    with tenant_context(shops.a):
        assert not Review.objects.filter(line_id=line.pk).exists()


def test_a_photo_that_is_not_an_image_is_refused(shops, shop_client):
    buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    fake = SimpleUploadedFile("cute.png", b"MZ\x90\x00not an image", content_type="image/png")
    answer = buyer.post(
        f"/orders/{order.number}/review/", {"line": line.pk, "rating": "5", "photos": [fake]}
    )
    assert "not a readable image" in buyer.get(answer["Location"]).text
    with tenant_context(shops.a):
        assert not Review.objects.filter(line_id=line.pk).exists()


def test_the_creator_hides_a_review_and_the_aggregate_follows(shops, shop_client, creator):
    buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    buyer.post(f"/orders/{order.number}/review/", {"line": line.pk, "rating": "2", "text": "差"})
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        review = Review.objects.get(line_id=line.pk)
    admin = creator("a")

    assert "差" in admin.get("/admin/reviews/").text
    admin.post("/admin/reviews/", {"review": review.pk, "hidden": "1"})
    admin.post("/admin/reviews/", {"review": review.pk, "hidden": "1"})  # twice: counted once

    product = product_of(line)
    assert (product.rating_count, product.rating_total) == (0, 0)
    with tenant_context(shops.a):
        block = Template("{% load storefront_tags %}{% listing_reviews_block listing %}")
        html = block.render(Context({"listing": review.listing}))
    assert "差" not in html and "No reviews yet" in html
    admin.post("/admin/reviews/", {"review": review.pk, "hidden": "0"})
    product.refresh_from_db()
    assert (product.rating_count, product.rating_total) == (1, 2)


def test_reviews_are_the_shops_own(shops, shop_client, creator):
    buyer, order, line = paid_order(shops, shop_client)
    ship_and_deliver(order)
    buyer.post(f"/orders/{order.number}/review/", {"line": line.pk, "rating": "5", "text": "好"})
    connection.set_schema_to_public()
    with tenant_context(shops.a):
        review = Review.objects.get(line_id=line.pk)

    admin_of_b = creator("b")
    assert "No reviews yet" in admin_of_b.get("/admin/reviews/").text
    admin_of_b.post("/admin/reviews/", {"review": review.pk, "hidden": "1"})
    with tenant_context(shops.a):
        assert not Review.objects.get(pk=review.pk).is_hidden
