"""The creator puts product cards into an article in her Wagtail admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms.models import ArticlePage, HomePage

from .cms_helpers import get, listing_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def creator_client(shop, shop_client, host: str):
    client = shop_client(host, HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(shop):
        owner = get_user_model().objects.create_superuser("writer", "w@example.com", "pw")
        client.force_login(owner)
    return client


def test_listing_chooser_offers_this_shops_listings_and_searches_them(shops, shop_client):
    mine = listing_make(shops.a, title="宝宝辅食碗")
    listing_make(shops.a, title="厨房剪刀")
    client = creator_client(shops.a, shop_client, "a.localhost")

    everything = client.get("/admin/listing-chooser/")
    found = client.get("/admin/listing-chooser/results/", {"q": "辅食"})
    chosen = client.get(f"/admin/listing-chooser/chosen/{mine.pk}/")

    assert everything.status_code == 200
    assert "宝宝辅食碗" in everything.json()["html"]
    assert "厨房剪刀" in everything.json()["html"]
    assert "宝宝辅食碗" in found.text and "厨房剪刀" not in found.text
    assert chosen.json()["result"]["id"] == str(mine.pk)


def test_creator_adds_a_card_and_a_grid_in_the_page_editor_and_readers_see_them(shops, shop_client):
    first = listing_make(shops.a, title="编辑器里选的商品")
    second = listing_make(shops.a, title="网格里的商品")
    client = creator_client(shops.a, shop_client, "a.localhost")
    with tenant_context(shops.a):
        home_id = HomePage.objects.get().pk

    editor = client.get(f"/admin/pages/add/cms/articlepage/{home_id}/")
    assert editor.status_code == 200
    assert "Product card" in editor.text and "Product grid" in editor.text

    data = nested_form_data(
        {
            "title": "后台写的文章",
            "slug": "from-admin",
            "summary": "",
            "body": streamfield(
                [
                    ("paragraph", rich_text("<p>看看这个</p>")),
                    ("product_card", {"listing": first.pk, "note": "强推"}),
                    (
                        "product_grid",
                        {"heading": "更多", "listings": streamfield([("item", second.pk)])},
                    ),
                ]
            ),
            "action-publish": "publish",
        }
    )
    saved = client.post(f"/admin/pages/add/cms/articlepage/{home_id}/", data)

    assert saved.status_code == 302, saved.content.decode()[:3000]
    with tenant_context(shops.a):
        article = ArticlePage.objects.get(slug="from-admin")
        assert article.live
        types = [block.block_type for block in article.body]
    assert types == ["paragraph", "product_card", "product_grid"]
    page = get(shop_client, "a.localhost", "/from-admin/").text
    assert "编辑器里选的商品" in page and "网格里的商品" in page and "强推" in page


def test_home_page_features_chosen_goods_or_else_the_newest(shops, shop_client):
    older = listing_make(shops.b, title="较早的商品")
    newer = listing_make(shops.b, title="最新的商品")

    newest_first = get(shop_client, "b.localhost", "/").text
    with tenant_context(shops.b):
        home = HomePage.objects.get()
        home.featured = [{"type": "product", "value": older.pk}]
        home.save_revision().publish()
    chosen = get(shop_client, "b.localhost", "/").text

    assert newest_first.index("最新的商品") < newest_first.index("较早的商品")
    assert "较早的商品" in chosen and "最新的商品" not in chosen
    assert newer.pk != older.pk


def test_home_page_editor_offers_featured_goods(shops, shop_client):
    client = creator_client(shops.b, shop_client, "b.localhost")
    with tenant_context(shops.b):
        home_id = HomePage.objects.get().pk

    editor = client.get(f"/admin/pages/{home_id}/edit/")

    assert editor.status_code == 200
    assert "featured products" in editor.text.lower()
