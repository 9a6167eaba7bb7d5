"""Price terms and bounds in integer fen; the shared stock never goes negative."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from catalog import services
from catalog.models import SKU, PriceChange, Product
from catalog.selectors import shipping_fee_fen
from catalog.testing import first_sku, product_make, staff_make, terms

V = Product.Vetting

pytestmark = pytest.mark.usefixtures("catalog_english")


@pytest.mark.django_db
@pytest.mark.usefixtures("catalog_media")
@pytest.mark.parametrize(
    ("price", "code"),
    [
        (5999, "below_min"),
        (0, "below_min"),
        (12001, "above_max"),
        (-100, "negative"),
        ("-100", "negative"),
        ("89.90", "not_integer"),
        (89.9, "not_integer"),
        ("八十九", "not_integer"),
        (True, "not_integer"),
        (None, "not_integer"),
    ],
)
def test_retail_price_outside_bounds_or_not_whole_fen_is_refused(price, code):
    sku = first_sku(product_make())  # bounds 6000..12000

    with pytest.raises(ValidationError) as exc:
        services.retail_price_check(sku=sku, retail_price_fen=price)

    assert exc.value.error_dict["retail_price_fen"][0].code == code


@pytest.mark.django_db
@pytest.mark.usefixtures("catalog_media")
@pytest.mark.parametrize("price", [6000, 8900, 12000, "7000"])
def test_retail_price_inside_bounds_is_accepted_as_integer_fen(price):
    sku = first_sku(product_make())

    assert services.retail_price_check(sku=sku, retail_price_fen=price) == int(price)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        terms(supply=7000, low=6000),  # minimum below supply: every sale loses money
        terms(suggested=13000),  # suggestion above maximum
        terms(suggested=5000),  # suggestion below minimum
        terms(supply=0, low=0),
        terms(supply=-1),
    ],
)
def test_inconsistent_supplier_price_terms_are_refused(bad):
    with pytest.raises(ValidationError):
        services.price_terms_check(bad)


@pytest.mark.django_db
def test_database_refuses_inconsistent_bounds_even_without_the_service(catalog_media):
    sku = first_sku(product_make())
    with pytest.raises(IntegrityError), transaction.atomic():
        SKU.objects.filter(pk=sku.pk).update(min_retail_fen=F("max_retail_fen") + 1)


@pytest.mark.django_db
@pytest.mark.usefixtures("catalog_media")
@pytest.mark.parametrize("stock", [-1, "-5", "3.5", "many", None])
def test_supplier_cannot_set_negative_or_non_integer_stock(stock):
    product = product_make(stock=7)
    sku = first_sku(product)

    with pytest.raises(ValidationError):
        services.sku_stock_set(
            sku=sku, supplier=product.supplier, actor=product.supplier.user, stock=stock
        )

    sku.refresh_from_db()
    assert sku.stock == 7


@pytest.mark.django_db
def test_reservation_takes_stock_only_when_there_is_enough(catalog_media):
    sku = first_sku(product_make(stock=3))

    assert services.sku_stock_reserve(sku_id=sku.pk, quantity=2) is True
    assert services.sku_stock_reserve(sku_id=sku.pk, quantity=2) is False
    assert services.sku_stock_reserve(sku_id=sku.pk, quantity=1) is True
    assert services.sku_stock_reserve(sku_id=sku.pk, quantity=1) is False

    sku.refresh_from_db()
    assert sku.stock == 0
    services.sku_stock_release(sku_id=sku.pk, quantity=1)
    sku.refresh_from_db()
    assert sku.stock == 1


@pytest.mark.django_db
def test_database_check_constraint_refuses_negative_stock(catalog_media):
    sku = first_sku(product_make(stock=1))

    with pytest.raises(IntegrityError), transaction.atomic():
        SKU.objects.filter(pk=sku.pk).update(stock=F("stock") - 2)

    sku.refresh_from_db()
    assert sku.stock == 1


def test_concurrent_reservations_never_oversell_the_shared_stock(django_db_blocker, tmp_path):
    """Sixteen buyers in their own connections race for five units: exactly five win."""
    from django.test import override_settings

    local = {"BACKEND": "config.storage.ShopFileSystemStorage"}
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with (
        override_settings(MEDIA_ROOT=tmp_path, STORAGES={"default": local, "staticfiles": static}),
        django_db_blocker.unblock(),
    ):
        # Committed for real: the racing threads use their own connections.
        sku = first_sku(product_make(stock=5, skus=1))
        barrier = threading.Barrier(16)
        results: list[bool] = []
        lock = threading.Lock()

        def buy() -> None:
            try:
                barrier.wait()
                ok = services.sku_stock_reserve(sku_id=sku.pk, quantity=1)
                with lock:
                    results.append(ok)
            finally:
                connection.close()

        threads = [threading.Thread(target=buy) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        sku.refresh_from_db()
        assert results.count(True) == 5
        assert results.count(False) == 11
        assert sku.stock == 0


@pytest.mark.django_db
def test_price_change_on_approved_product_waits_for_staff_approval(catalog_media):
    product = product_make()
    sku = first_sku(product)
    supplier = product.supplier

    change = services.price_change_request(
        sku=sku,
        supplier=supplier,
        actor=supplier.user,
        terms=terms(supply=5500, suggested=9900, low=7000, high=13000),
    )

    sku.refresh_from_db()
    assert (sku.supply_price_fen, sku.min_retail_fen) == (5000, 6000)  # unchanged until approved
    with pytest.raises(ValidationError):  # one open proposal per SKU
        services.price_change_request(
            sku=sku, supplier=supplier, actor=supplier.user, terms=terms()
        )

    services.price_change_approve(change=change, actor=staff_make())

    sku.refresh_from_db()
    assert (sku.supply_price_fen, sku.suggested_retail_fen) == (5500, 9900)
    assert (sku.min_retail_fen, sku.max_retail_fen) == (7000, 13000)
    change.refresh_from_db()
    assert change.status == PriceChange.Status.APPROVED
    with pytest.raises(ValidationError):  # decided once
        services.price_change_reject(change=change, actor=staff_make(), note="late")


@pytest.mark.django_db
def test_rejected_price_change_leaves_the_terms_alone(catalog_media):
    product = product_make()
    sku = first_sku(product)
    change = services.price_change_request(
        sku=sku,
        supplier=product.supplier,
        actor=product.supplier.user,
        terms=terms(supply=9000, suggested=9500, low=9000, high=9900),
    )

    services.price_change_reject(change=change, actor=staff_make(), note="涨价过高")

    sku.refresh_from_db()
    assert sku.supply_price_fen == 5000


@pytest.mark.django_db
def test_draft_prices_are_edited_directly_not_through_price_changes(catalog_media):
    product = product_make(status=V.DRAFT)
    sku = first_sku(product)
    with pytest.raises(ValidationError):
        services.price_change_request(
            sku=sku, supplier=product.supplier, actor=product.supplier.user, terms=terms()
        )
    services.sku_terms_update(
        sku=sku, supplier=product.supplier, actor=product.supplier.user, terms=terms(supply=4000)
    )
    sku.refresh_from_db()
    assert sku.supply_price_fen == 4000


@pytest.mark.django_db
def test_shipping_fee_by_region_and_weight(catalog_media):
    template = product_make(status=V.DRAFT).shipping_template  # 新疆/西藏 20 + 10 per extra kg

    assert shipping_fee_fen(template=template, region="新疆", weight_g=500) == 2000
    assert shipping_fee_fen(template=template, region="西藏", weight_g=2100) == 4000
    assert shipping_fee_fen(template=template, region="浙江", weight_g=2100) == 0


@pytest.mark.django_db
def test_stock_typed_over_a_stale_page_is_refused_instead_of_undoing_sales(catalog_media):
    product = product_make(stock=10)
    sku = first_sku(product)
    assert services.sku_stock_reserve(sku_id=sku.pk, quantity=3)  # an order while she typed

    with pytest.raises(ValidationError) as exc:
        services.sku_stock_set(
            sku=sku, supplier=product.supplier, actor=product.supplier.user, stock=10, expected=10
        )

    assert exc.value.code == "stale"
    sku.refresh_from_db()
    assert sku.stock == 7
    services.sku_stock_set(
        sku=sku, supplier=product.supplier, actor=product.supplier.user, stock=12, expected=7
    )
    sku.refresh_from_db()
    assert sku.stock == 12


@pytest.mark.django_db
def test_stock_adjustment_adds_received_goods_and_never_goes_below_zero(catalog_media):
    product = product_make(stock=2)
    sku = first_sku(product)
    supplier = product.supplier

    services.sku_stock_adjust(sku=sku, supplier=supplier, actor=supplier.user, delta=5)
    with pytest.raises(ValidationError):
        services.sku_stock_adjust(sku=sku, supplier=supplier, actor=supplier.user, delta=-8)
    services.sku_stock_adjust(sku=sku, supplier=supplier, actor=supplier.user, delta=-7)

    sku.refresh_from_db()
    assert sku.stock == 0
