"""Creators add catalog goods to their shops: prices in bounds, live state, shop isolation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from catalog import services
from catalog.models import Product, ShopListing
from catalog.testing import first_sku, product_make, staff_make, terms
from storefront.models import Listing, ListingItem
from storefront.services import listing_create, listing_update
from storefront.tasks import listing_prices_check_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def _list(shop, product, price=8800, **kw):
    with tenant_context(shop):
        return listing_create(
            product=product,
            title=kw.get("title", "宝妈推荐"),
            copy="<p>我家在用</p>",
            prices={s.pk: price for s in product.skus.all()},
        )


def test_adding_to_my_shop_creates_a_listing_with_my_prices_and_copy(shops):
    product = product_make()

    listing = _list(shops.a, product, price=9900, title="我家宝宝最爱")

    with tenant_context(shops.a):
        items = list(ListingItem.objects.filter(listing=listing).select_related("sku__product"))
        assert {i.retail_price_fen for i in items} == {9900}
        assert len(items) == 2
        assert all(i.availability == "available" for i in items)
        assert items[0].margin_fen == 9900 - 5000
        assert Listing.objects.get(pk=listing.pk).title == "我家宝宝最爱"
    assert ShopListing.objects.filter(
        tenant=shops.a, product=product, listing_number=listing.pk
    ).exists()


def test_one_bad_price_adds_nothing(shops):
    product = product_make()
    skus = list(product.skus.all())

    with tenant_context(shops.a), pytest.raises(ValidationError):
        listing_create(product=product, title="x", prices={skus[0].pk: 8000, skus[1].pk: 99_999})

    with tenant_context(shops.a):
        assert not Listing.objects.filter(product=product).exists()
    assert not ShopListing.objects.filter(product=product).exists()


@pytest.mark.parametrize(
    "status", [Product.Vetting.DRAFT, Product.Vetting.SUBMITTED, Product.Vetting.IN_REVIEW]
)
def test_goods_not_yet_approved_cannot_be_listed(shops, status):
    product = product_make(status=status)

    with tenant_context(shops.a), pytest.raises(ValidationError):
        listing_create(product=product, title="x", prices={first_sku(product).pk: 8000})


def test_suspended_goods_cannot_be_newly_listed(shops):
    product = product_make()
    services.product_suspend(product=product, actor=staff_make(), reason="抽检不合格")

    with tenant_context(shops.a), pytest.raises(ValidationError) as exc:
        listing_create(product=product, title="x", prices={first_sku(product).pk: 8000})

    assert exc.value.code == "not_listable"


def test_suspension_shows_existing_listings_as_unavailable_and_lifting_it_restores_them(shops):
    product = product_make()
    listing = _list(shops.a, product)
    staff = staff_make()

    services.product_suspend(product=product, actor=staff, reason="抽检不合格")

    with tenant_context(shops.a):
        item = ListingItem.objects.filter(listing=listing).select_related("sku__product").first()
        assert item.availability == "unavailable"
        assert Listing.objects.filter(pk=listing.pk).exists()  # kept, only unavailable

    services.product_unsuspend(product=product, actor=staff)
    with tenant_context(shops.a):
        item = ListingItem.objects.filter(listing=listing).select_related("sku__product").first()
        assert item.availability == "available"


def test_listing_shows_live_shared_stock(shops):
    product = product_make(stock=4)
    listing = _list(shops.a, product)
    sku = first_sku(product)

    services.sku_stock_set(sku=sku, supplier=product.supplier, actor=product.supplier.user, stock=0)

    with tenant_context(shops.a):
        item = ListingItem.objects.select_related("sku__product").get(listing=listing, sku=sku)
        assert item.sku.stock == 0
        assert item.availability == "sold_out"


def test_new_price_bounds_flag_only_the_shops_now_outside_them(shops):
    product = product_make()
    sku = first_sku(product)
    _list(shops.a, product, price=6500)  # below the coming minimum of 7000
    _list(shops.b, product, price=9000)  # still inside

    change = services.price_change_request(
        sku=sku,
        supplier=product.supplier,
        actor=product.supplier.user,
        terms=terms(supply=5500, suggested=9000, low=7000, high=12000),
    )
    change = services.price_change_approve(change=change, actor=staff_make())
    # After the commit each shop listing the SKU runs this task (tests/test_catalog_price_hook.py
    # runs it on a real worker); here it runs in-process, in each shop's schema.
    for shop in (shops.a, shops.b):
        with tenant_context(shop):
            listing_prices_check_task.apply(kwargs={"sku_id": sku.pk, "change_id": change.pk}).get()

    change.refresh_from_db()
    assert change.flagged_listings == 1
    with tenant_context(shops.a):
        item = ListingItem.objects.select_related("sku__product").get(sku=sku)
        assert item.price_flagged is True
        assert item.availability == "price_out_of_bounds"
        # The creator fixes her price: the flag clears and the item sells again.
        listing_update(
            listing=item.listing, title="t", copy="", prices={sku.pk: 7200}, is_active=True
        )
        item = ListingItem.objects.select_related("sku__product").get(sku=sku)
        assert item.price_flagged is False
        assert item.availability == "available"
    with tenant_context(shops.b):
        assert ListingItem.objects.get(sku=sku).price_flagged is False


def test_a_shops_listings_are_invisible_to_another_shop(shops):
    product = product_make()
    listing = _list(shops.a, product)

    with tenant_context(shops.b):
        assert not Listing.objects.filter(product=product).exists()
        assert not Listing.objects.filter(pk=listing.pk, product=product).exists()
    # Shop B can still list the same product on its own.
    other = _list(shops.b, product)
    with tenant_context(shops.b):
        assert Listing.objects.filter(product=product).count() == 1
    with tenant_context(shops.a):
        assert Listing.objects.get(product=product).pk == listing.pk
    assert other.product_id == listing.product_id


def test_the_same_product_cannot_be_listed_twice_in_one_shop(shops):
    product = product_make()
    _list(shops.a, product)

    with pytest.raises(ValidationError) as exc:
        _list(shops.a, product)

    assert exc.value.code == "duplicate"


def test_listing_copy_is_sanitised(shops):
    product = product_make()
    with tenant_context(shops.a):
        listing = listing_create(
            product=product,
            title="x",
            copy='<p>好</p><img src="x" onerror="steal()"><script>x()</script>',
            prices={first_sku(product).pk: 8000},
        )
        assert "onerror" not in listing.copy
        assert "script" not in listing.copy
