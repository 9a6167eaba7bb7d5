"""A price change approved in the catalog reaches the shops after its commit, one task per shop
that lists the SKU, on a real Celery worker; the staff transaction does no shop's work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from catalog.models import SKU, PriceChange
from catalog.services.prices import price_change_approve, price_change_request
from catalog.testing import staff_make, terms
from storefront.hooks import price_terms_changed
from storefront.models import ListingItem
from tests.storefront_helpers import listed

ROOT = Path(__file__).resolve().parents[1]

sent: list = []
calls: list[dict] = []


def hook_sending(**kwargs):
    """The real hook, keeping what it sent so the test can wait on the worker's answers."""
    results = price_terms_changed(**kwargs)
    sent.extend(results)
    return results


def hook_spy(**kwargs):
    calls.append(kwargs)


def _request_narrower_bounds(sku: SKU) -> PriceChange:
    supplier = sku.product.supplier
    return price_change_request(
        sku=sku,
        supplier=supplier,
        actor=supplier.user,
        terms=terms(supply=5500, suggested=9000, low=7000, high=12000),
    )


@pytest.mark.usefixtures("catalog_media", "catalog_english")
def test_approval_flags_only_the_shop_that_lists_the_sku_through_a_worker(
    shops, committed_db, celery_worker, settings
):
    settings.VSTORE_PRICE_TERMS_CHANGED_HOOK = "tests.test_catalog_price_hook.hook_sending"
    sent.clear()
    _listing_a, item_a = listed(shops.a, price=6500)  # below the coming minimum of 7000
    _listing_b, item_b = listed(shops.b, price=6500)  # another product: its SKU keeps its terms
    change = _request_narrower_bounds(item_a.sku)

    price_change_approve(change=change, actor=staff_make())

    assert len(sent) == 1  # one shop lists the SKU: one task, none for shop b
    assert sent[0].get(timeout=120) == 1
    with tenant_context(shops.a):
        assert ListingItem.objects.get(pk=item_a.pk).price_flagged is True
    with tenant_context(shops.b):
        assert ListingItem.objects.get(pk=item_b.pk).price_flagged is False
    change.refresh_from_db()
    assert change.flagged_listings == 1

    # Repeating the shop's task (a redelivery) flags and counts nothing twice.
    from storefront.tasks import listing_prices_check_task

    with tenant_context(shops.a):
        again = listing_prices_check_task.delay(sku_id=item_a.sku_id, change_id=change.pk)
    assert again.get(timeout=60) == 0
    change.refresh_from_db()
    assert change.flagged_listings == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("catalog_media", "catalog_english")
def test_the_approval_transaction_does_no_shop_work_and_a_rollback_tells_no_shop(
    shops, settings, django_capture_on_commit_callbacks
):
    settings.VSTORE_PRICE_TERMS_CHANGED_HOOK = "tests.test_catalog_price_hook.hook_spy"
    calls.clear()
    _listing, item = listed(shops.a, price=6500)
    change = _request_narrower_bounds(item.sku)
    staff = staff_make()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        price_change_approve(change=change, actor=staff)
        # Inside the staff transaction the terms changed, and no shop was touched.
        assert SKU.objects.get(pk=item.sku_id).min_retail_fen == 7000
        with tenant_context(shops.a):
            assert ListingItem.objects.get(pk=item.pk).price_flagged is False
        raise RuntimeError("the staff transaction fails after the approval")

    assert callbacks == [] and calls == []  # rolled back: no shop hears of it
    assert SKU.objects.get(pk=item.sku_id).min_retail_fen == 6000
    assert PriceChange.objects.get(pk=change.pk).status == PriceChange.Status.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        price_change_approve(change=change, actor=staff)

    assert calls == [{"sku_id": item.sku_id, "change_id": change.pk, "tenant_ids": [shops.a.pk]}]


def test_the_catalog_never_imports_the_storefront():
    found = subprocess.run(
        ["grep", "-rnE", r"^\s*(from|import) storefront", "platform/catalog"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.stdout == ""
