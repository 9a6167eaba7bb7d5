"""Product cards in articles: what a reader sees, and that a card never breaks the page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalog import services as catalog_services
from catalog.models import SKU
from catalog.testing import staff_make
from cms.models import ArticlePage, ShopIndexPage
from cms.starter import article_cards_add
from storefront.models import Listing, ListingItem

from .cms_helpers import article_make, card, get, grid, listing_make, page_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def test_card_shows_picture_title_lowest_price_live_stock_and_a_buy_now_form(shops, shop_client):
    listing = listing_make(shops.a, title="我家宝宝最爱的围兜", prices=(9900, 8800), stock=7)
    article = article_make(shops.a, [card(listing.pk, note="真心推荐")])
    with tenant_context(shops.a):
        cheapest = ListingItem.objects.get(listing=listing, retail_price_fen=8800)

    page = get(shop_client, "a.localhost", f"/{article.slug}/")

    assert page.status_code == 200
    html = page.text
    assert "我家宝宝最爱的围兜" in html
    assert "¥88.00" in html  # the lowest price of the variants on sale
    # Both variants' live stock (14) is plenty: said in words, never as a count.
    assert "In stock" in html and "14 in stock" not in html
    assert "真心推荐" in html
    assert re.search(r'<div class="pc-single">\s*<article class="pc pc-available"', html)
    assert re.search(r'<img class="pc-img" src="[^"]+\.png"', html)
    assert f'href="/shop/p/{listing.pk}/"' in html
    # Two options: the card does not buy the cheapest one unasked, it sends the buyer to the
    # product page's option picker.
    assert 'class="pc-buy"' not in html
    assert f'name="item" value="{cheapest.pk}"' not in html
    choose = re.search(
        r'<a class="pc-button pc-choose[^"]*" href="([^"]+)" aria-label="([^"]+)"', html
    )
    assert choose and choose.group(1) == f"/shop/p/{listing.pk}/#pp-options"
    assert choose.group(2) == "Choose an option: 我家宝宝最爱的围兜"


def test_a_single_option_card_buys_now_with_one_tap(shops, shop_client):
    listing = listing_make(shops.a, title="只有一种的围兜", prices=(6600,))
    article = article_make(shops.a, [card(listing.pk)], slug="one-option")
    with tenant_context(shops.a):
        only = ListingItem.objects.get(listing=listing)

    html = get(shop_client, "a.localhost", f"/{article.slug}/").text

    form = re.search(
        r'<form class="pc-buy" method="post" action="([^"]+)">(.*?)</form>', html, re.S
    )
    assert form and form.group(1) == "/cart/add/"
    assert f'<input type="hidden" name="item" value="{only.pk}">' in form.group(2)
    assert 'name="quantity" value="1"' in form.group(2)
    assert 'name="buy_now" value="1"' in form.group(2)
    assert "csrfmiddlewaretoken" in form.group(2)
    assert "pc-choose" not in html


def test_the_multi_option_buy_now_opens_the_picker_with_nothing_chosen(shops, shop_client):
    listing = listing_make(shops.a, title="两种颜色", prices=(9900, 8800))

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    picker = re.search(r'<fieldset class="pp-options" id="pp-options">(.*?)</fieldset>', page, re.S)
    assert picker, page
    radios = re.findall(r'<input type="radio" name="item" value="\d+"([^>]*)>', picker.group(1))
    assert len(radios) == 2
    assert not any("checked" in attrs for attrs in radios)
    assert all("required" in attrs for attrs in radios)


def test_without_a_shop_page_a_multi_option_card_asks_for_the_option_itself(shops, shop_client):
    listing = listing_make(shops.a, title="没有商品页", prices=(9900, 8800))
    article = article_make(shops.a, [card(listing.pk)], slug="no-shop-page")
    with tenant_context(shops.a):
        shop_page = ShopIndexPage.objects.get()
        shop_page.unpublish()
        items = list(ListingItem.objects.filter(listing=listing).order_by("id"))
    try:
        html = get(shop_client, "a.localhost", f"/{article.slug}/").text
    finally:
        with tenant_context(shops.a):
            shop_page.save_revision().publish()
        connection.set_schema_to_public()

    form = re.search(
        r'<form class="pc-buy" method="post" action="/cart/add/">(.*?)</form>', html, re.S
    )
    assert form, html
    select = re.search(r'<select name="item" required>(.*?)</select>', form.group(1), re.S)
    assert select
    assert '<option value="">Choose an option</option>' in select.group(1)
    for item in items:
        assert f'<option value="{item.pk}">' in select.group(1)
    assert 'type="hidden" name="item"' not in form.group(1)


def test_card_follows_live_stock_to_sold_out(shops, shop_client):
    listing = listing_make(shops.a, title="限量款")
    article = article_make(shops.a, [card(listing.pk)])
    SKU.objects.filter(product_id=listing.product_id).update(stock=0)

    html = get(shop_client, "a.localhost", f"/{article.slug}/").text

    assert "限量款" in html
    assert "Sold out" in html
    assert 'class="pc-buy"' not in html


def test_suspended_goods_and_withdrawn_listings_render_unavailable(shops, shop_client):
    suspended = listing_make(shops.a, title="被暂停的商品")
    withdrawn = listing_make(shops.a, title="下架的商品")
    catalog_services.product_suspend(
        product=suspended.product, actor=staff_make(), reason="抽检不合格"
    )
    with tenant_context(shops.a):
        Listing.objects.filter(pk=withdrawn.pk).update(is_active=False)
    article = article_make(shops.a, [card(suspended.pk), grid([withdrawn.pk])])

    page = get(shop_client, "a.localhost", f"/{article.slug}/")

    assert page.status_code == 200
    assert page.text.count("Unavailable") == 2
    assert 'class="pc-buy"' not in page.text


def test_a_deleted_listing_renders_as_unavailable_not_an_error(shops, shop_client):
    kept = listing_make(shops.a, title="还在卖的")
    gone = listing_make(shops.a, title="已删除的")
    article = article_make(shops.a, [card(gone.pk), grid([gone.pk, kept.pk])])
    with tenant_context(shops.a):
        Listing.objects.filter(pk=gone.pk).delete()

    page = get(shop_client, "a.localhost", f"/{article.slug}/")

    assert page.status_code == 200
    assert "已删除的" not in page.text
    assert page.text.count("This product is no longer available.") == 2
    assert "还在卖的" in page.text


def test_a_card_for_another_shops_listing_shows_nothing_of_it(shops, shop_client):
    """A stored id names a row in this shop's own schema only."""
    theirs = listing_make(shops.a, title="A店的秘密商品")
    with tenant_context(shops.b):
        Listing.objects.filter(pk=theirs.pk).delete()  # B has no listing with that number
    article = article_make(shops.b, [card(theirs.pk)], slug="borrowed")

    page = get(shop_client, "b.localhost", f"/{article.slug}/")

    assert page.status_code == 200
    assert "A店的秘密商品" not in page.text
    assert "This product is no longer available." in page.text


def test_article_queries_do_not_grow_with_the_number_of_cards(shops, shop_client):
    listings = [listing_make(shops.a, title=f"商品{i}") for i in range(6)]
    one = article_make(shops.a, [card(listings[0].pk)], slug="one-card")
    six = article_make(shops.a, [card(listing.pk) for listing in listings], slug="six-cards")
    mixed = article_make(
        shops.a,
        [card(listings[0].pk), grid([listing.pk for listing in listings[1:]])],
        slug="card-and-grid",
    )

    q_one = page_queries(shop_client, "a.localhost", f"/{one.slug}/")
    q_six = page_queries(shop_client, "a.localhost", f"/{six.slug}/")
    q_mixed = page_queries(shop_client, "a.localhost", f"/{mixed.slug}/")
    html = get(shop_client, "a.localhost", f"/{six.slug}/").text

    assert all(f"商品{i}" in html for i in range(6))
    assert q_six == q_one, (q_one, q_six)
    # A grid is one more batch of the same three reads (listings, their variants, pictures).
    assert q_mixed <= q_one + 3, (q_one, q_mixed)
    assert q_one <= 16, q_one


def test_starter_puts_the_demo_listings_into_the_welcome_article_once(shops, shop_client):
    listings = [listing_make(shops.b, title=f"演示商品{i}") for i in range(3)]

    with tenant_context(shops.b):
        article = article_cards_add(listings)
        again = article_cards_add(listings)
        body = [block.block_type for block in ArticlePage.objects.get(slug="welcome").body]

    assert article is not None and again is not None
    assert body.count("product_card") == 1 and body.count("product_grid") == 1
    html = get(shop_client, "b.localhost", "/welcome/").text
    assert all(f"演示商品{i}" in html for i in range(3))
