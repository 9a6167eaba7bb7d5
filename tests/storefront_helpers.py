"""Shared makers for storefront tests: a listed product in a shop, a buyer, an order."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from catalog.testing import first_sku, product_make, terms
from storefront.models import ListingItem
from storefront.orders import Buyer
from storefront.services import listing_create

BUYER = Buyer(
    mobile="13800138000",
    email="",
    recipient="王小明",
    recipient_phone="13800138000",
    province="浙江",
    city="杭州市",
    district="西湖区",
    street="文三路 100 号 1 幢 101 室",
)


def listed(shop, *, price: int = 8800, stock: int = 10, skus: int = 1, supplier=None, **kw):
    """A vetted product listed in SHOP at PRICE fen; returns (listing, first item)."""
    product = product_make(
        skus=skus, stock=stock, supplier=supplier, price_terms=kw.pop("price_terms", terms())
    )
    with tenant_context(shop):
        listing = listing_create(
            product=product,
            title=kw.get("title", "宝妈推荐好物"),
            copy="<p>我家在用</p>",
            prices={s.pk: price for s in product.skus.all()},
        )
        item = ListingItem.objects.select_related("sku").get(
            listing=listing, sku=first_sku(product)
        )
    return listing, item
