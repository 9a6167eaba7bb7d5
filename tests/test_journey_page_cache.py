"""The page cache for anonymous readers (cms/page_cache.py): kept briefly, per shop, host and
language, never for visitors with a session or cart, and every reader's buy forms still work."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from wagtail.models import Page

from cms.models import ArticlePage, HomePage
from storefront.orders.cart import COOKIE as CART_COOKIE

from .storefront_helpers import listed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_media", "catalog_english"),
]


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30


def article(shop, *, title: str = "好物分享", listing_id: int | None = None) -> ArticlePage:
    body = [{"type": "paragraph", "value": "<p>推荐</p>"}]
    if listing_id is not None:
        body.append({"type": "product_card", "value": {"listing": listing_id, "note": ""}})
    with tenant_context(shop):
        return HomePage.objects.get().add_child(
            instance=ArticlePage(title=title, slug=f"c-{uuid.uuid4().hex[:10]}", body=body)
        )


def retitle(shop, page: Page, title: str) -> None:
    # Behind the cache's back, as a publish in another process would be.
    with tenant_context(shop):
        Page.objects.filter(pk=page.pk).update(title=title)


def get(client, url: str, **headers):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=headers.pop("lang", "en"), **headers)
    connection.set_schema_to_public()
    return response


def test_anonymous_readers_get_the_kept_page_until_it_expires(shops, shop_client, settings):
    page = article(shops.a, title="第一版")
    url = f"/{page.slug}/"
    assert "第一版" in get(shop_client("a.localhost"), url).text
    retitle(shops.a, page, "第二版")

    assert "第一版" in get(shop_client("a.localhost"), url).text  # kept
    settings.VSTORE_PAGE_CACHE_SECONDS = 0
    assert "第二版" in get(shop_client("a.localhost"), url).text  # off: rendered


def test_visitors_with_a_session_or_a_cart_always_get_a_fresh_page(shops, shop_client):
    page = article(shops.a, title="旧标题")
    url = f"/{page.slug}/"
    get(shop_client("a.localhost"), url)
    retitle(shops.a, page, "新标题")

    signed_in = shop_client("a.localhost")
    signed_in.cookies["sessionid"] = "x" * 32
    with_cart = shop_client("a.localhost")
    with_cart.cookies[CART_COOKIE] = "y" * 32
    assert "新标题" in get(signed_in, url).text
    assert "新标题" in get(with_cart, url).text
    assert "旧标题" in get(shop_client("a.localhost"), url).text


def test_the_kept_page_is_per_shop_and_per_language(shops, shop_client):
    query = f"?v={uuid.uuid4().hex}"  # the starter article, at the same path in both shops
    a_en = get(shop_client("a.localhost"), f"/welcome/{query}")
    b_en = get(shop_client("b.localhost"), f"/welcome/{query}")
    a_zh = get(shop_client("a.localhost"), f"/welcome/{query}", lang="zh-hans")

    assert a_en.status_code == b_en.status_code == a_zh.status_code == 200
    assert "Shop A" in a_en.text and "Shop B" not in a_en.text
    assert "Shop B" in b_en.text and "Shop A" not in b_en.text
    assert 'lang="en"' in a_en.text and 'lang="zh-hans"' in a_zh.text
    # Served again from the cache, each still the right one.
    assert get(shop_client("b.localhost"), f"/welcome/{query}").text == b_en.text


def test_every_reader_of_a_kept_page_gets_a_working_buy_button(shops, shop_client):
    listing, item = listed(shops.a, price=8800, stock=5)
    page = article(shops.a, title="缓存的文章", listing_id=listing.pk)
    url = f"/{page.slug}/"
    first = get(shop_client("a.localhost", enforce_csrf_checks=True), url)
    retitle(shops.a, page, "改过的文章")
    second_reader = shop_client("a.localhost", enforce_csrf_checks=True)
    kept = get(second_reader, url)

    assert "缓存的文章" in kept.text  # from the cache
    assert "__vstore_csrf_token__" not in kept.text
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', kept.text).group(1)
    assert token != re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', first.text).group(1)
    assert "csrftoken" in kept.cookies  # the token's cookie comes with the kept page
    bought = second_reader.post(
        "/cart/add/",
        {"csrfmiddlewaretoken": token, "item": item.pk, "quantity": 1, "buy_now": 1},
    )
    connection.set_schema_to_public()
    assert bought.status_code == 302
    assert bought["Location"] == "/checkout/?now=1"
