"""The creator picks goods in her shop's Wagtail admin: browse, margin, add, live listings."""

from __future__ import annotations

import itertools

import pytest
from django_tenants.utils import tenant_context

from catalog import services
from catalog.models import Product
from catalog.testing import category_make, first_sku, product_make, staff_make, supplier_make, terms
from storefront.models import Listing, ListingItem
from storefront.tasks import listing_prices_check_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

_n = itertools.count()


def test_catalog_page_lists_only_approved_active_goods(creator):
    approved = product_make(title="认证好物")
    draft = product_make(title="草稿商品", status=Product.Vetting.DRAFT)
    suspended = product_make(title="下架商品")
    services.product_suspend(product=suspended, actor=staff_make(), reason="投诉")

    page = creator("a").get("/admin/goods/?q=商品").text + creator("a").get("/admin/goods/").text

    assert approved.title in page
    assert draft.title not in page
    assert suspended.title not in page


def test_catalog_filters_by_category_supplier_price_and_margin(creator):
    category = category_make(name=f"辅食{next(_n)}")
    supplier = supplier_make()
    cheap = product_make(
        supplier=supplier,
        category=category,
        title="低价米饼",
        price_terms=terms(supply=1000, suggested=1500, low=1200, high=2000),
    )
    rich = product_make(
        supplier=supplier,
        category=category,
        title="高毛利果泥",
        price_terms=terms(supply=2000, suggested=5000, low=3000, high=6000),
    )
    client = creator("a")

    by_category = client.get(f"/admin/goods/?category={category.pk}").text
    by_margin = client.get(f"/admin/goods/?category={category.pk}&min_margin=20").text
    by_price = client.get(f"/admin/goods/?supplier={supplier.pk}&max_price=16").text

    assert cheap.title in by_category and rich.title in by_category
    assert rich.title in by_margin and cheap.title not in by_margin
    assert cheap.title in by_price and rich.title not in by_price


def test_product_page_shows_supply_price_and_margin_at_my_price(creator):
    product = product_make(skus=1)
    sku = first_sku(product)

    response = creator("a").get(f"/admin/goods/{product.pk}/?price_{sku.pk}=99.00")

    assert response.status_code == 200
    assert "¥50.00" in response.text  # supply price
    assert "¥49.00" in response.text  # margin at ¥99


def test_add_to_my_shop_creates_a_listing_with_my_price(creator, shops):
    product = product_make(skus=2)
    skus = list(product.skus.order_by("id"))

    response = creator("a").post(
        f"/admin/goods/{product.pk}/",
        {
            "title": "宝妈亲测",
            "copy": "<p>推荐</p>",
            f"sell_{skus[0].pk}": "1",
            f"price_{skus[0].pk}": "95.5",
            f"price_{skus[1].pk}": "95.5",
        },
    )

    assert response.status_code == 302
    with tenant_context(shops.a):
        listing = Listing.objects.get(product=product)
        assert listing.title == "宝妈亲测"
        assert list(listing.items.values_list("sku_id", "retail_price_fen")) == [(skus[0].pk, 9550)]


@pytest.mark.parametrize("price", ["59.99", "120.01", "-1", "abc", "80.001"])
def test_add_to_my_shop_refuses_prices_outside_bounds_or_malformed(creator, shops, price):
    product = product_make(skus=1)
    sku = first_sku(product)

    response = creator("a").post(
        f"/admin/goods/{product.pk}/",
        {"title": "x", f"sell_{sku.pk}": "1", f"price_{sku.pk}": price},
    )

    assert response.status_code == 400
    with tenant_context(shops.a):
        assert not Listing.objects.filter(product=product).exists()


def test_listings_page_shows_live_stock_and_unavailability(creator, shops):
    product = product_make(skus=1, stock=7, title="实时库存测试")
    sku = first_sku(product)
    client = creator("a")
    client.post(
        f"/admin/goods/{product.pk}/",
        {"title": "实时库存测试", f"sell_{sku.pk}": "1", f"price_{sku.pk}": "88"},
    )
    services.sku_stock_set(sku=sku, supplier=product.supplier, actor=product.supplier.user, stock=3)
    services.product_suspend(product=product, actor=staff_make(), reason="抽检")

    page = client.get("/admin/listings/").text

    assert "实时库存测试" in page
    assert "<td>3</td>" in page
    assert "unavailable" in page


def test_flagged_price_is_shown_and_fixed_from_the_listing_page(creator, shops):
    product = product_make(skus=1)
    sku = first_sku(product)
    client = creator("b")
    client.post(
        f"/admin/goods/{product.pk}/",
        {"title": "t", f"sell_{sku.pk}": "1", f"price_{sku.pk}": "61"},
    )
    change = services.price_change_request(
        sku=sku,
        supplier=product.supplier,
        actor=product.supplier.user,
        terms=terms(supply=5000, suggested=8000, low=7000, high=12000),
    )
    services.price_change_approve(change=change, actor=staff_make())
    with tenant_context(shops.b):  # after the commit, the shop's own task (a worker in production)
        listing_prices_check_task.apply(kwargs={"sku_id": sku.pk, "change_id": change.pk}).get()

    assert "outside" in client.get("/admin/listings/").text
    assert "Prices to adjust" in client.get("/admin/").text  # on the creator's admin home
    with tenant_context(shops.b):
        listing = Listing.objects.get(product=product)
    response = client.post(
        f"/admin/listings/{listing.pk}/",
        {"title": "t", "copy": "", f"price_{sku.pk}": "75", "is_active": "1"},
    )

    assert response.status_code == 302
    with tenant_context(shops.b):
        item = ListingItem.objects.get(listing=listing)
        assert (item.retail_price_fen, item.price_flagged) == (7500, False)


def test_another_shops_listing_is_invisible_in_my_admin(creator, shops):
    product = product_make(skus=1)
    sku = first_sku(product)
    creator("a").post(
        f"/admin/goods/{product.pk}/",
        {"title": "A店专属标题", f"sell_{sku.pk}": "1", f"price_{sku.pk}": "80"},
    )
    with tenant_context(shops.a):
        listing_a = Listing.objects.get(product=product)

    client_b = creator("b")
    listings_page = client_b.get("/admin/listings/").text
    guessed = client_b.get(f"/admin/listings/{listing_a.pk}/")

    assert "A店专属标题" not in listings_page
    assert guessed.status_code == 404 or "A店专属标题" not in guessed.text


def test_catalog_admin_pages_need_a_shop_admin_login(shops, shop_client):
    response = shop_client("a.localhost").get("/admin/goods/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_catalog_filters_and_sorts_by_rating():
    from catalog.models import Product as P
    from catalog.selectors import CatalogFilters, catalog_browse

    supplier = supplier_make()
    loved = product_make(supplier=supplier, title="好评如潮")
    meh = product_make(supplier=supplier, title="评价一般")
    unrated = product_make(supplier=supplier, title="暂无评价")
    P.objects.filter(pk=loved.pk).update(rating_count=10, rating_total=48)
    P.objects.filter(pk=meh.pk).update(rating_count=10, rating_total=35)

    four_plus = catalog_browse(CatalogFilters(supplier_id=supplier.pk, min_rating=4.0))
    by_rating = catalog_browse(CatalogFilters(supplier_id=supplier.pk, order="rating"))

    assert list(four_plus) == [loved]
    assert [p.pk for p in by_rating] == [loved.pk, meh.pk, unrated.pk]
