"""Shared makers for cms tests: listings, articles with product cards, page fetches, queries."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tenants.utils import tenant_context

from catalog.testing import product_make
from cms.models import ArticlePage, HomePage
from storefront.models import Listing
from storefront.services import listing_create


def listing_make(shop, *, title: str = "宝妈推荐", prices=(9900, 8800), stock: int = 10) -> Listing:
    product = product_make(skus=len(prices), stock=stock)
    skus = list(product.skus.order_by("id"))
    with tenant_context(shop):
        return listing_create(
            product=product,
            title=title,
            copy="<p>我家在用</p>",
            prices={sku.pk: price for sku, price in zip(skus, prices, strict=True)},
        )


def article_make(shop, body: list, *, slug: str = "cards") -> ArticlePage:
    with tenant_context(shop):
        home = HomePage.objects.get()
        return home.add_child(
            instance=ArticlePage(title="好物分享", slug=slug, summary="一篇带货文章", body=body)
        )


def card(listing_id: int | None, note: str = "") -> dict:
    return {"type": "product_card", "value": {"listing": listing_id, "note": note}}


def grid(listing_ids: list[int], heading: str = "推荐") -> dict:
    return {"type": "product_grid", "value": {"heading": heading, "listings": listing_ids}}


def get(shop_client, host: str, url: str):
    with translation.override("en"):
        response = shop_client(host).get(url, HTTP_ACCEPT_LANGUAGE="en")
    connection.set_schema_to_public()
    return response


def page_queries(shop_client, host: str, url: str) -> int:
    """Statements one view of URL sends, after a first view warmed the shared caches.

    django-tenants' "SET search_path" before each statement is left out: it is a setting
    (TENANT_LIMIT_SET_CALLS), not something the page does.
    """
    get(shop_client, host, url)
    with CaptureQueriesContext(connection) as ctx:
        response = get(shop_client, host, url)
    assert response.status_code == 200
    return sum(1 for q in ctx.captured_queries if not q["sql"].startswith("SET search_path"))
