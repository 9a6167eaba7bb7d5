"""Uploaded files in development: `make run` serves /media/ itself, on the platform and on every
shop host, but only the files pages show (never private ones, never another shop's)."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.test import override_settings
from django.utils import translation
from django_tenants.utils import schema_context, tenant_context
from wagtail.images import get_image_model

from catalog.testing import png_upload
from cms.models import ArticlePage, HomePage
from tests.storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def get(shop_client, host: str, url: str):
    with translation.override("en"):
        response = shop_client(host).get(url, HTTP_ACCEPT_LANGUAGE="en")
    connection.set_schema_to_public()
    return response


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def article_with_card(shop, listing_id: int, slug: str) -> ArticlePage:
    with tenant_context(shop):
        home = HomePage.objects.get()
        return home.add_child(
            instance=ArticlePage(
                title="好物分享",
                slug=slug,
                summary="一篇带货文章",
                body=[{"type": "product_card", "value": {"listing": listing_id, "note": ""}}],
            )
        )


def shop_image(shop, title: str = "头图"):
    with tenant_context(shop):
        return get_image_model().objects.create(title=title, file=png_upload("cover.png"))


@override_settings(DEBUG=True)
def test_a_product_card_picture_loads_on_the_shop_host(shops, shop_client, catalog_media):
    listing, _ = listed(shops.a, title="会显示图片的围兜")
    article_with_card(shops.a, listing.pk, slug="media-card")

    page = get(shop_client, "a.localhost", "/media-card/").text
    src = re.search(r'<img class="pc-img" src="([^"]+)"', page)
    assert src, page
    url = htmllib.unescape(src.group(1))
    assert url.startswith("/media/public/catalog/products/")

    image = get(shop_client, "a.localhost", url)

    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    stored = Path(catalog_media, url.removeprefix("/media/")).read_bytes()
    assert body(image) == stored and stored.startswith(b"\x89PNG")


@override_settings(DEBUG=True)
def test_the_product_pages_share_image_is_absolute_and_resolves(shops, shop_client):
    listing, _ = listed(shops.a, title="分享图")

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text
    og = re.search(r'<meta property="og:image" content="([^"]+)">', page)
    assert og, page
    parts = urlsplit(htmllib.unescape(og.group(1)))
    assert parts.scheme == "http" and parts.hostname == "a.localhost"
    gallery = re.findall(r'<section class="pp-gallery[^"]*".*?<img src="([^"]+)"', page, re.S)
    assert gallery and gallery[0] == parts.path

    image = get(shop_client, parts.hostname, parts.path)

    assert image.status_code == 200 and body(image).startswith(b"\x89PNG")


@override_settings(DEBUG=True)
def test_catalog_pictures_load_on_the_platform_host_for_the_console(shops, shop_client):
    listing, _ = listed(shops.a)
    url = listing.product.images.first().file.url

    assert get(shop_client, "localhost", url).status_code == 200


@override_settings(DEBUG=True)
def test_a_shop_serves_its_own_images_but_not_another_shops(shops, shop_client):
    image = shop_image(shops.b)
    url = image.file.url
    assert url.startswith("/media/shop_b/original_images/")

    assert get(shop_client, "b.localhost", url).status_code == 200
    assert get(shop_client, "a.localhost", url).status_code == 404
    # Not through a path that climbs out of the shop's prefix either.
    climbing = url.replace("/media/shop_b/", "/media/shop_a/../shop_b/")
    assert get(shop_client, "a.localhost", climbing).status_code == 404


@override_settings(DEBUG=True)
def test_private_files_under_media_are_never_served(shops, shop_client):
    storage = storages["default"]
    with schema_context("shop_a"):
        statement = storage.save("documents/statements/2026-11.pdf", ContentFile(b"%PDF-1.7"))
        document = storage.save("documents/contract.pdf", ContentFile(b"%PDF-1.7"))
    with schema_context("public"):
        licence = storage.save(
            "catalog/suppliers/1/documents/licence.pdf", ContentFile(b"%PDF-1.7")
        )
    assert statement.startswith("shop_a/") and licence.startswith("public/")

    for name in (statement, document):
        assert get(shop_client, "a.localhost", f"/media/{name}").status_code == 404
    assert get(shop_client, "localhost", f"/media/{licence}").status_code == 404
    assert get(shop_client, "a.localhost", f"/media/{licence}").status_code == 404


def test_production_leaves_media_to_nginx_or_s3(shops, shop_client):
    image = shop_image(shops.a)

    # DEBUG is off here (test settings): Django does not serve files in production.
    assert get(shop_client, "a.localhost", image.file.url).status_code == 404
