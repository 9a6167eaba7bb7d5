"""The pricing seam (storefront/pricing.py): one function prices every line, and the cart, the
checkout page and the order all show and keep what it returned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from catalog.testing import terms
from storefront.models import ListingItem, OrderLine
from storefront.orders.cart import COOKIE, cart_add, cart_create
from storefront.orders.services import Want, order_place, order_quote
from storefront.pricing import Discount, Funder, PricedLine, PricingError, lines_price

from .storefront_helpers import BUYER, listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

ROOT = Path(__file__).resolve().parents[1]


def test_a_line_is_priced_at_the_list_price_in_item_order(shops):
    _l1, first = listed(shops.a, price=8800, stock=5)
    _l2, second = listed(shops.a, price=1250, stock=5, price_terms=terms(800, 1250, 1000, 2000))
    with tenant_context(shops.a):
        items = {i.pk: i for i in ListingItem.objects.filter(pk__in=[first.pk, second.pk])}
        priced = lines_price(items=items, quantities={second.pk: 3, first.pk: 2})

    assert [line.item_id for line in priced.lines] == sorted([first.pk, second.pk])
    line = priced.line(first.pk)
    assert (line.list_price_fen, line.unit_price_fen, line.total_fen) == (8800, 8800, 17600)
    assert priced.line(second.pk).total_fen == 3750
    assert priced.goods_fen == 17600 + 3750
    assert line.funded_by(Funder.CREATOR) == 0 and line.funded_by(Funder.PLATFORM) == 0


def test_who_funds_what_adds_up_to_the_distance_from_the_list_price():
    line = PricedLine(
        item_id=1,
        quantity=2,
        list_price_fen=8000,
        unit_price_fen=6000,
        campaign="group:1",
        discounts=(
            Discount("coupon:A", 500, Funder.CREATOR),
            Discount("coupon:P", 300, Funder.PLATFORM),
        ),
    )
    assert line.gross_fen == 12000 and line.total_fen == 11200
    assert line.funded_by(Funder.CREATOR) + line.funded_by(Funder.PLATFORM) == 16000 - 11200


def test_an_impossible_quantity_is_a_pricing_error_not_a_price(shops):
    _listing, item = listed(shops.a, price=6500, stock=5)
    with tenant_context(shops.a), pytest.raises(PricingError):
        lines_price(items={item.pk: item}, quantities={item.pk: 0})


def test_the_cart_the_checkout_and_the_order_show_the_seams_prices(shops, shop_client):
    _listing, item = listed(shops.a, price=6990, stock=9)
    with tenant_context(shops.a):
        cart = cart_create()
        cart_add(cart=cart, item_id=item.pk, quantity=3)
        quote = order_quote(wants=[Want(item.pk, 3)])
        order = order_place(wants=[Want(item.pk, 3)], buyer=BUYER)
        line = OrderLine.objects.get(order=order)

    client = shop_client("a.localhost")
    client.cookies[COOKIE] = cart.token
    page = client.get("/cart/")
    assert page.status_code == 200
    assert "¥69.90" in page.text and "¥209.70" in page.text
    assert quote["goods_fen"] == 20970
    assert [priced.total_fen for _item, priced in quote["rows"]] == [20970]
    assert (line.retail_price_fen, order.goods_fen) == (6990, 20970)


# Nothing but the seam multiplies a listing item's price: a second place would drift from it
# (and skip campaign prices and coupons once they exist).
PRICE_ARITHMETIC = re.compile(r"(\bitem|items\[[^\]]+\])\.retail_price_fen\s*\*")


def test_no_other_module_computes_a_price_from_a_listing_item():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("storefront", "cms", "billing", "platform")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "pricing.py" and PRICE_ARITHMETIC.search(path.read_text())
    ]
    assert offenders == []


def test_a_creator_coupon_on_real_items_stops_at_the_ledgers_commission_on_each_line(shops):
    from billing.ledger import CaptureLine, creator_discount_cap_fen
    from core.money import FEN_MAX
    from storefront.pricing import CouponTerms

    _l1, first = listed(shops.a, price=8800, stock=5)
    _l2, second = listed(shops.a, price=6500, stock=5)
    everything = CouponTerms(
        source="coupon:ALL", funded_by=Funder.CREATOR, kind="fixed", amount_fen=FEN_MAX
    )
    with tenant_context(shops.a):
        items = {
            i.pk: i
            for i in ListingItem.objects.select_related("sku__product").filter(
                pk__in=[first.pk, second.pk]
            )
        }
        priced = lines_price(
            items=items, quantities={first.pk: 2, second.pk: 1}, coupons=[everything]
        )
    caps = creator_discount_cap_fen(
        [
            CaptureLine(
                supplier_id=items[i].sku.product.supplier_id,
                quantity=q,
                supply_price_fen=items[i].sku.supply_price_fen,
                retail_price_fen=items[i].retail_price_fen,
            )
            for i, q in sorted({first.pk: 2, second.pk: 1}.items())
        ]
    )
    assert [line.coupon_fen(Funder.CREATOR) for line in priced.lines] == caps
    assert priced.goods_fen == priced.list_goods_fen - sum(caps)
    assert priced.discount_fen(source="coupon:ALL") == sum(caps)
