"""The shop data cache (core/shop_cache.py): fewer queries per page, the shop's own edits shown
at once, and nothing shared between shops."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context
from wagtail.models import PageViewRestriction

from catalog.testing import staff_make
from cms.models import ShopIndexPage, ShopSettings
from storefront.models import Listing
from storefront.services import listing_update
from tenants.services import shop_suspend

from .cms_helpers import article_make, card, get, listing_make, page_queries

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_media", "catalog_english", "fresh_cache"),
]


@pytest.fixture
def fresh_cache():
    # Test databases roll back, the cache does not: start each test without earlier entries.
    cache.clear()
    with override_settings(VSTORE_SHOP_DATA_CACHE_SECONDS=60):
        yield
    cache.clear()


def test_a_second_view_reads_site_appearance_shop_url_and_cards_from_the_cache(shops, shop_client):
    listings = [listing_make(shops.a, title=f"商品{i}") for i in range(6)]
    article = article_make(shops.a, [card(listing.pk) for listing in listings], slug="six")

    with override_settings(VSTORE_SHOP_DATA_CACHE_SECONDS=0):
        uncached = page_queries(shop_client, "a.localhost", f"/{article.slug}/")
    cached = page_queries(shop_client, "a.localhost", f"/{article.slug}/")
    html = get(shop_client, "a.localhost", f"/{article.slug}/").text

    assert all(f"商品{i}" in html for i in range(6))
    assert f'href="/shop/p/{listings[0].pk}/"' in html
    # Cached: the shop for the host, the Site, the home page's specific row, the article (page,
    # content type, specific row), the private-page check (two), appearance settings, the shop
    # page's URL, the three card reads and the listings with a live campaign (one per kind).
    assert (uncached, cached) == (16, 0)


def test_the_creators_listing_edit_shows_on_the_next_view(
    shops, shop_client, django_capture_on_commit_callbacks
):
    listing = listing_make(shops.a, title="旧标题", prices=(9900,))
    article = article_make(shops.a, [card(listing.pk)], slug="edit")
    assert "旧标题" in get(shop_client, "a.localhost", f"/{article.slug}/").text

    with tenant_context(shops.a), django_capture_on_commit_callbacks(execute=True):
        item = listing.items.get()
        listing_update(
            listing=listing, title="新标题", copy="", prices={item.sku_id: 9500}, is_active=True
        )
    connection.set_schema_to_public()

    html = get(shop_client, "a.localhost", f"/{article.slug}/").text
    assert "新标题" in html and "旧标题" not in html
    assert "¥95.00" in html


def test_a_change_not_yet_committed_leaves_the_cache_as_it_was(
    shops, shop_client, django_capture_on_commit_callbacks
):
    listing = listing_make(shops.a, title="原样")
    article = article_make(shops.a, [card(listing.pk)], slug="rollback")
    get(shop_client, "a.localhost", f"/{article.slug}/")

    with tenant_context(shops.a), django_capture_on_commit_callbacks() as callbacks:
        Listing.objects.filter(pk=listing.pk).update(title="未提交")
        Listing.objects.get(pk=listing.pk).save()
    connection.set_schema_to_public()

    # The change's new generation waits for a commit that (in this test) never comes.
    assert len(callbacks) == 1
    assert "原样" in get(shop_client, "a.localhost", f"/{article.slug}/").text


def test_appearance_and_shop_page_moves_show_at_once(
    shops, shop_client, django_capture_on_commit_callbacks
):
    listing = listing_make(shops.a, title="围兜")
    article = article_make(shops.a, [card(listing.pk)], slug="look")
    html = get(shop_client, "a.localhost", f"/{article.slug}/").text
    assert f'href="/shop/p/{listing.pk}/"' in html

    with tenant_context(shops.a), django_capture_on_commit_callbacks(execute=True):
        settings = ShopSettings.objects.get()
        settings.tagline = "新的店铺口号"
        settings.save()
        shop_page = ShopIndexPage.objects.get()
        shop_page.slug = "haowu"
        shop_page.save_revision().publish()
    connection.set_schema_to_public()

    html = get(shop_client, "a.localhost", f"/{article.slug}/").text
    assert "新的店铺口号" in html
    assert f'href="/haowu/p/{listing.pk}/"' in html
    assert get(shop_client, "a.localhost", f"/haowu/p/{listing.pk}/").status_code == 200
    assert get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").status_code == 404


def test_an_unpublished_article_is_gone_at_once(
    shops, shop_client, django_capture_on_commit_callbacks
):
    article = article_make(shops.a, [], slug="going")
    assert get(shop_client, "a.localhost", "/going/").status_code == 200

    with tenant_context(shops.a), django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    connection.set_schema_to_public()

    assert get(shop_client, "a.localhost", "/going/").status_code == 404


def test_two_shops_with_the_same_listing_number_each_see_their_own_card(shops, shop_client):
    mine = listing_make(shops.a, title="A店的围兜")
    with tenant_context(shops.b), connection.cursor() as cursor:
        # Each shop numbers its own listings: give B's next one A's number.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('storefront_listing', 'id'), %s, false)",
            [mine.pk],
        )
    theirs = listing_make(shops.b, title="B店的奶瓶")
    assert mine.pk == theirs.pk
    article_a = article_make(shops.a, [card(mine.pk)], slug="same")
    article_b = article_make(shops.b, [card(theirs.pk)], slug="same")

    page_a = get(shop_client, "a.localhost", f"/{article_a.slug}/").text
    page_b = get(shop_client, "b.localhost", f"/{article_b.slug}/").text
    again_a = get(shop_client, "a.localhost", f"/{article_a.slug}/").text

    assert "A店的围兜" in page_a and "B店的奶瓶" not in page_a
    assert "B店的奶瓶" in page_b and "A店的围兜" not in page_b
    assert "A店的围兜" in again_a and "B店的奶瓶" not in again_a
    # And on the product page, which reads the same cache.
    product_b = get(shop_client, "b.localhost", f"/shop/p/{theirs.pk}/").text
    assert "B店的奶瓶" in product_b and "A店的围兜" not in product_b


def test_a_page_made_private_is_private_at_once(
    shops, shop_client, django_capture_on_commit_callbacks
):
    article = article_make(shops.a, [], slug="secret")
    assert "好物分享" in get(shop_client, "a.localhost", "/secret/").text

    with tenant_context(shops.a), django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(
            page=article, restriction_type=PageViewRestriction.PASSWORD, password="only-fans"
        )
    connection.set_schema_to_public()

    page = get(shop_client, "a.localhost", "/secret/")
    assert "好物分享" not in page.text
    assert 'name="password"' in page.text


def test_a_suspended_shop_is_closed_on_the_next_request(
    shops, shop_client, django_capture_on_commit_callbacks
):
    article = article_make(shops.a, [], slug="open")
    assert get(shop_client, "a.localhost", "/open/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        shop_suspend(tenant=shops.a, actor=staff_make(), reason="资质待核")

    assert get(shop_client, "a.localhost", f"/{article.slug}/").status_code == 403
    assert get(shop_client, "b.localhost", "/").status_code == 200


def test_the_in_process_copy_stays_bounded_and_right(shops, monkeypatch):
    from core import shop_cache

    monkeypatch.setattr(shop_cache, "LOCAL_ENTRIES", 3)
    monkeypatch.setattr(shop_cache, "_local", {})
    with tenant_context(shops.a):
        values = [shop_cache.cached(f"n{i}", lambda i=i: i * 10) for i in range(10)]
        again = [shop_cache.cached(f"n{i}", lambda: -1) for i in range(10)]
    connection.set_schema_to_public()

    assert values == [i * 10 for i in range(10)]
    assert again == values  # from memory or from Redis, never rebuilt
    assert len(shop_cache._local) <= 3
