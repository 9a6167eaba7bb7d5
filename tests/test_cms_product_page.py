"""A product page per listing (a route of the shop page), and the shop page's filters and paging."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from catalog.models import SKU
from catalog.testing import category_make, product_make
from storefront.models import Listing, ListingItem
from storefront.services import listing_create

from .cms_helpers import get, listing_make, page_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def test_product_page_shows_gallery_options_prices_live_stock_and_buy_forms(shops, shop_client):
    listing = listing_make(shops.a, title="纯棉口水巾", prices=(9900, 8800), stock=5)
    skus = list(SKU.objects.filter(product_id=listing.product_id).order_by("id"))
    SKU.objects.filter(pk=skus[1].pk).update(stock=0)  # the cheaper variant sold out
    with tenant_context(shops.a):
        items = {i.sku_id: i for i in ListingItem.objects.filter(listing=listing)}

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/")

    assert page.status_code == 200
    html = page.text
    assert "<h1>纯棉口水巾</h1>" in html
    assert "我家在用" in html  # the creator's copy
    assert re.search(r'<section class="pp-gallery[^"]*".*?<img src="[^"]+\.png"', html, re.S)
    form = re.search(
        r'<form class="pp-buy"[^>]* method="post" action="/cart/add/">(.*?)</form>', html, re.S
    )
    assert form, html
    body = form.group(1)
    on_sale, sold_out = items[skus[0].pk], items[skus[1].pk]
    assert re.search(rf'name="item" value="{on_sale.pk}"\s+checked', body)
    assert re.search(rf'name="item" value="{sold_out.pk}"\s+disabled', body)
    assert "¥99.00" in body and "¥88.00" in body
    # 5 left: "only a few" on the page, never the count a rival or a bot would read.
    assert "Only a few left" in html and "5 in stock" not in html and "Sold out" in body
    assert 'name="quantity" value="1"' in body
    assert 'name="buy_now" value="1"' in body and "Add to cart" in body
    assert "csrfmiddlewaretoken" in body
    assert 'aria-labelledby="reviews-h"' in html  # the buyers' reviews section


def test_a_withdrawn_listing_has_an_unavailable_page_without_buy_forms(shops, shop_client):
    listing = listing_make(shops.a, title="下架了")
    with tenant_context(shops.a):
        Listing.objects.filter(pk=listing.pk).update(is_active=False)

    page = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/")

    assert page.status_code == 200
    assert "This product is currently unavailable." in page.text
    assert 'class="pp-buy"' not in page.text


def test_unknown_listing_is_404(shops, shop_client):
    assert get(shop_client, "a.localhost", "/shop/p/987654321/").status_code == 404


def test_another_shops_listing_id_is_not_found(shops, shop_client):
    listing = listing_make(shops.a, title="只在A店卖")
    with tenant_context(shops.b):
        Listing.objects.filter(pk=listing.pk).delete()  # B has no listing of that number

    assert get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").status_code == 200
    page = get(shop_client, "b.localhost", f"/shop/p/{listing.pk}/")
    assert page.status_code == 404
    assert "只在A店卖" not in page.text


def test_product_page_queries_do_not_grow_with_variants_or_pictures(shops, shop_client):
    small = listing_make(shops.a, title="两款", prices=(8800, 8900))
    large = listing_make(shops.a, title="四款", prices=(8800, 8900, 9000, 9100))

    q_small = page_queries(shop_client, "a.localhost", f"/shop/p/{small.pk}/")
    q_large = page_queries(shop_client, "a.localhost", f"/shop/p/{large.pk}/")

    assert q_small == q_large, (q_small, q_large)
    # 16, and one read per campaign kind (flash sale, group buy, price drop) for its strip.
    assert q_small <= 19, q_small


# --- the shop page -----------------------------------------------------------------------------


def _titles(html: str) -> list[str]:
    return re.findall(r'<h[23] class="pc-title">([^<]+)</h[23]>', html)


def test_shop_page_lists_goods_on_sale_with_category_price_and_stock_filters(shops, shop_client):
    kitchen = category_make(name="厨房测试")
    pots = category_make(name="锅具测试", parent=kitchen)
    toys = category_make(name="玩具测试")

    def make(title, category, price, stock=10):
        product = product_make(category=category, skus=1, stock=stock)
        with tenant_context(shops.b):
            return listing_create(
                product=product, title=title, prices={product.skus.get().pk: price}
            )

    make("炒锅", pots, 9900)
    make("积木", toys, 6500)
    make("缺货的锅", pots, 7000, stock=0)
    hidden = make("下架的玩具", toys, 7000)
    with tenant_context(shops.b):
        Listing.objects.filter(pk=hidden.pk).update(is_active=False)

    everything = _titles(get(shop_client, "b.localhost", "/shop/").text)
    by_parent = _titles(get(shop_client, "b.localhost", f"/shop/?category={kitchen.pk}").text)
    by_price = _titles(get(shop_client, "b.localhost", "/shop/?min=60&max=75").text)
    in_stock = _titles(
        get(shop_client, "b.localhost", f"/shop/?category={pots.pk}&in_stock=1").text
    )
    nothing = get(shop_client, "b.localhost", "/shop/?min=1000").text

    assert sorted(everything) == sorted(["炒锅", "积木", "缺货的锅"])
    assert sorted(by_parent) == ["炒锅", "缺货的锅"]  # a parent category includes its children
    assert sorted(by_price) == sorted(["积木", "缺货的锅"])
    assert in_stock == ["炒锅"]
    assert "No goods match these filters." in nothing


def test_shop_page_pages_keep_the_filters(shops, shop_client, monkeypatch):
    monkeypatch.setattr("cms.models.SHOP_PAGE_SIZE", 2)
    for i in range(3):
        listing_make(shops.b, title=f"分页商品{i}", prices=(8800,))

    first = get(shop_client, "b.localhost", "/shop/?in_stock=1")
    second = get(shop_client, "b.localhost", "/shop/?in_stock=1&page=2")

    assert len(_titles(first.text)) == 2
    assert 'rel="next" href="?in_stock=1&amp;page=2"' in first.text
    assert len(_titles(second.text)) == 1
    assert set(_titles(first.text)) | set(_titles(second.text)) == {
        f"分页商品{i}" for i in range(3)
    }


def test_shop_page_queries_do_not_grow_with_the_number_of_goods(shops, shop_client):
    listing_make(shops.b, title="第一件")
    q_one = page_queries(shop_client, "b.localhost", "/shop/")
    for i in range(4):
        listing_make(shops.b, title=f"又一件{i}")
    q_five = page_queries(shop_client, "b.localhost", "/shop/")

    assert q_one == q_five, (q_one, q_five)
    # 16, and at most one read per campaign kind for all the cards' badges.
    assert q_one <= 19, q_one


def test_buy_now_from_the_product_page_goes_to_checkout(shops, shop_client):
    listing = listing_make(shops.a, title="立即购买", prices=(8800,))
    with tenant_context(shops.a):
        item = ListingItem.objects.get(listing=listing)
    client = shop_client("a.localhost", HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(f"/shop/p/{listing.pk}/")
    action = re.search(
        r'<form class="pp-buy"[^>]* method="post" action="([^"]+)"', page.text
    ).group(1)

    bought = client.post(action, {"item": item.pk, "quantity": 1, "buy_now": 1})

    assert bought.status_code == 302
    assert bought["Location"].startswith("/checkout/")


def test_a_failed_add_to_cart_is_explained_on_the_product_page(shops, shop_client):
    listing = listing_make(shops.a, title="刚卖完", prices=(8800,))
    with tenant_context(shops.a):
        item = ListingItem.objects.get(listing=listing)
    SKU.objects.filter(product_id=listing.product_id).update(stock=0)
    url = f"/shop/p/{listing.pk}/"
    client = shop_client("a.localhost", HTTP_ACCEPT_LANGUAGE="en")

    back = client.post(
        "/cart/add/", {"item": item.pk, "quantity": 1}, HTTP_REFERER=url, follow=True
    )

    assert back.redirect_chain[-1][0].endswith(url)
    assert re.search(r'<li class="message error">[^<]+</li>', back.text), back.text


def test_the_rating_shown_is_this_shops_and_the_all_shops_figure_says_so(shops, shop_client):
    from catalog.models import Product
    from storefront.models import Review
    from storefront.orders.services import Want, order_place
    from tests.storefront_helpers import BUYER

    listing = listing_make(shops.a, title="评分清楚", prices=(9900,))
    with tenant_context(shops.a):
        item = ListingItem.objects.get(listing=listing)
        order = order_place(wants=[Want(item_id=item.pk, quantity=1)], buyer=BUYER)
        Review.objects.create(
            line=order.lines.get(), listing=listing, fan=order.fan, rating=4, text="好用"
        )
    # The catalog's aggregate also counts another shop's 1★ review: 2 ratings, 2.5 on average.
    Product.objects.filter(pk=listing.product_id).update(rating_count=2, rating_total=5)

    html = get(shop_client, "a.localhost", f"/shop/p/{listing.pk}/").text

    # Beside the price: this shop's buyers' figure, the one its reviews below are counted in.
    assert '<a class="pc-rating" href="#reviews-h">★ 4.0 from 1 buyer in this shop</a>' in html
    assert "★ 4.0 from 1 buyer in this shop</small>" in html  # the reviews' heading agrees
    # The all-shops figure is named for what it is, not shown as this product's rating.
    assert "All shops selling this product: ★ 2.5 from 2 ratings" in html
    assert "(2 ratings)" not in html
    # The article card shows the same figure as the product page.
    with tenant_context(shops.a):
        from cms.selectors import listing_card, listings_by_id

        card = listing_card(listings_by_id([listing.pk])[listing.pk])
    assert (card.rating, card.rating_count) == (4.0, 1)


def test_every_shop_page_links_to_the_cart_me_and_order_lookup(shops, shop_client):
    from storefront.orders.cart import COOKIE, cart_add, cart_create

    listing = listing_make(shops.a, title="导航", prices=(9900,))
    with tenant_context(shops.a):
        item = ListingItem.objects.get(listing=listing)
        cart = cart_create()
        cart_add(cart=cart, item_id=item.pk, quantity=3)

    for url in ("/", f"/shop/p/{listing.pk}/", "/cart/", "/orders/lookup/"):
        html = get(shop_client, "a.localhost", url).text
        nav = re.search(r'<nav class="shop-nav" aria-label="Shop menu">(.*?)</nav>', html, re.S)
        assert nav, url
        links = dict(
            re.findall(r'<a href="([^"]+)"[^>]*>\s*<svg.*?<span>([^<]+)</span>', nav[1], re.S)
        )
        assert links == {
            "/": "Home",
            "/cart/": "Cart",
            "/me/": "Me",
            "/orders/lookup/": "Find my order",
        }, (url, links)
        assert 'class="shop-nav-badge"' not in nav[1]  # an empty cart has no count

    client = shop_client("a.localhost")
    client.cookies[COOKIE] = cart.token
    with translation.override("en"):
        html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
        page = client.get("/cart/", HTTP_ACCEPT_LANGUAGE="en").text
    assert '<span class="shop-nav-badge" aria-hidden="true">3</span>' in html
    assert 'aria-label="Cart, 3 items"' in html
    assert re.search(r'<a href="/cart/" class="shop-nav-cart" aria-current="page"', page)
