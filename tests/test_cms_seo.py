"""What search engines and share previews read: titles, descriptions, Open Graph, the sitemap."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django_tenants.utils import tenant_context

from cms.models import ArticlePage, HomePage
from storefront.models import Listing

from .cms_helpers import article_make, card, get, listing_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

SHOP_A = r"http://a\.localhost(?::\d+)?"


def meta(html: str, prop: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)">', html)
    return htmllib.unescape(found.group(1)) if found else None


def canonical(html: str) -> str | None:
    found = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    return found.group(1) if found else None


def test_article_shares_its_title_summary_canonical_url_and_a_picture(shops, shop_client):
    listing = listing_make(shops.a, title="分享图来自商品")
    article = article_make(shops.a, [card(listing.pk)], slug="seo-article")

    page = get(shop_client, "a.localhost", "/seo-article/").text

    assert meta(page, "og:type") == "article"
    assert meta(page, "og:title") == article.title
    assert meta(page, "og:description") == "一篇带货文章"
    assert meta(page, "description") == "一篇带货文章"
    assert re.fullmatch(rf"{SHOP_A}/seo-article/", meta(page, "og:url") or "")
    assert canonical(page) == meta(page, "og:url")
    # No picture in the text: the first product card's picture, as an absolute URL.
    assert re.fullmatch(rf"{SHOP_A}/media/.+\.png", meta(page, "og:image") or ""), page
    assert "<title>好物分享 · " in page


def test_promote_fields_override_the_fallbacks(shops, shop_client):
    with tenant_context(shops.a):
        article = ArticlePage.objects.get(slug="welcome")
        ArticlePage.objects.filter(pk=article.pk).update(
            seo_title="搜索标题", search_description="搜索描述"
        )

    page = get(shop_client, "a.localhost", "/welcome/").text

    assert meta(page, "og:title") == "搜索标题"
    assert meta(page, "description") == "搜索描述"
    assert "<title>搜索标题 · " in page


def test_home_page_describes_the_shop_from_its_introduction(shops, shop_client):
    with tenant_context(shops.a):
        HomePage.objects.update(intro="<p>三个孩子的妈妈，<b>分享</b>亲测好物。</p>")

    page = get(shop_client, "a.localhost", "/").text

    assert meta(page, "og:description") == "三个孩子的妈妈，分享亲测好物。"
    assert re.fullmatch(rf"{SHOP_A}/", meta(page, "og:url") or "")


def test_product_page_shares_the_listing(shops, shop_client):
    listing = listing_make(shops.a, title="分享的商品")

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    assert meta(page, "og:type") == "product"
    assert meta(page, "og:title") == "分享的商品"
    assert meta(page, "og:description") == "我家在用"
    assert re.fullmatch(rf"{SHOP_A}/shop/p/{listing.pk}/", meta(page, "og:url") or "")
    assert canonical(page) == meta(page, "og:url")
    assert re.fullmatch(rf"{SHOP_A}/media/.+\.png", meta(page, "og:image") or "")
    assert meta(page, "robots") is None


def test_withdrawn_product_page_asks_search_engines_to_forget_it(shops, shop_client):
    listing = listing_make(shops.a, title="不再卖了")
    with tenant_context(shops.a):
        Listing.objects.filter(pk=listing.pk).update(is_active=False)

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    assert meta(page, "robots") == "noindex"


def test_sitemap_lists_product_pages_on_sale(shops, shop_client):
    on_sale = listing_make(shops.a, title="在卖")
    withdrawn = listing_make(shops.a, title="已下架")
    with tenant_context(shops.a):
        Listing.objects.filter(pk=withdrawn.pk).update(is_active=False)

    response = get(shop_client, "a.localhost", "/sitemap.xml")

    assert response.status_code == 200
    locations = re.findall(r"<loc>([^<]+)</loc>", response.content.decode())
    assert any(re.fullmatch(rf"{SHOP_A}/shop/p/{on_sale.pk}/", loc) for loc in locations)
    assert not any(loc.endswith(f"/shop/p/{withdrawn.pk}/") for loc in locations)
    assert any(re.fullmatch(rf"{SHOP_A}/welcome/", loc) for loc in locations)
    assert any(re.fullmatch(rf"{SHOP_A}/shop/", loc) for loc in locations)


def test_product_page_carries_schema_org_price_and_stock(shops, shop_client):
    import json

    listing = listing_make(shops.a, title="</script><script>alert(1)</script>", prices=(11111,))

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(scripts) == 1  # the title could not close the element early
    data = json.loads(scripts[0])
    assert data["@type"] == "Product"
    assert data["name"] == "</script><script>alert(1)</script>"
    assert data["offers"]["price"] == "111.11"
    assert data["offers"]["priceCurrency"] == "CNY"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert meta(page, "product:price:amount") == "111.11"
    assert "<script>alert(1)</script>" not in page
