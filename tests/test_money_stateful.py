"""Issue 6's stateful test: random sequences of the whole money flow keep the books right.

The machine and the invariants it checks after every step are in tests/money_machine.py (its
docstring lists them). Bounded for CI on two cores: derandomized (Hypothesis draws the same
examples on every run, no example database), a fixed number of examples and steps.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from catalog.models import Product, ReturnPolicy
from catalog.testing import first_sku, product_make, staff_make, supplier_make
from storefront.models import ListingItem
from storefront.services import listing_create

from .money_machine import REACHED, MoneyMachine, World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

# Shop A sells at a round price, shop B at 60.01 yuan: 5% of it is not a whole fen.
PRICES = {"a": 8800, "b": 6001}
STOCK = 10

MONEY_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Paths the run must take at least once (labels from tests/money_machine.py `seen`).
DEEP_PATHS = {
    "expiry: expired",
    "late payment refunded",
    "return refused",
    "return refunded",
    "return refunded after settlement",
    "settled",
    "payout paid",
    # Issue 12: orders with coupons of both kinds, and returns of such orders.
    "order with coupons",
    "couponed return refunded",
    # Issue 14: tiered group buys closing both ways (tests/money_groupbuy.py).
    "group buy succeeded",
    "group buy failed",
}


def world_make(shops) -> World:
    x, y = supplier_make(), supplier_make()
    products = [
        product_make(supplier=x, skus=1, stock=STOCK, title="棉袜"),
        product_make(supplier=x, skus=1, stock=STOCK, title="鲜花饼"),
        product_make(supplier=y, skus=1, stock=STOCK, title="帆布包"),
    ]
    # Perishable: no reason-free return window (消法 art. 25's exception).
    Product.objects.filter(pk=products[1].pk).update(return_policy=ReturnPolicy.PERISHABLE)
    items: dict[str, list[int]] = {}
    tenants = {"a": shops.a, "b": shops.b}
    for name, tenant in tenants.items():
        with tenant_context(tenant):
            items[name] = []
            for product in products:
                sku = first_sku(product)
                listing = listing_create(
                    product=product, title=product.title, prices={sku.pk: PRICES[name]}
                )
                items[name].append(ListingItem.objects.get(listing=listing, sku=sku).pk)
    return World(
        shops=tenants,
        items=items,
        skus=[first_sku(p).pk for p in products],
        suppliers=[x, y],
        staff=[staff_make(), staff_make()],
    )


# Low payout thresholds so small test orders reach them: batches above 100 yuan need two
# different staff members.
@override_settings(VSTORE_PAYOUT_MINIMUM_FEN=1, VSTORE_PAYOUT_DUAL_APPROVAL_FEN=10_000)
def test_random_money_flows_keep_the_books(shops):
    MoneyMachine.world = world_make(shops)
    REACHED.clear()
    run_state_machine_as_test(MoneyMachine, settings=MONEY_SETTINGS)
    # The draws are derandomized, so what the run reaches is fixed: it must keep reaching the
    # deep paths, or the invariants above were checked on too little.
    reached = set(REACHED)
    assert reached >= DEEP_PATHS, sorted(DEEP_PATHS - reached)
