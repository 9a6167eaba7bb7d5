"""`make run`'s demo: two shops selling the demo catalog's goods, seeded idempotently."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from storefront.models import Listing
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_demo_shops_sell_the_demo_catalog_and_seeding_twice_changes_nothing(shops, shop_client):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)

    yuer = Tenant.objects.get(schema_name="shop_yuer")
    with tenant_context(yuer):
        titles = set(Listing.objects.values_list("title", flat=True))
    assert "有机高铁米粉 225g" in titles
    assert "不粘煎锅 28cm" not in titles  # the kitchen shop's goods

    page = shop_client("yuer.localhost").get("/shop/")
    assert page.status_code == 200
    assert "有机高铁米粉 225g" in page.text
    assert "¥" in page.text
    assert shop_client("yuer.localhost").get("/").status_code == 200
    article = shop_client("yuer.localhost").get("/welcome/")
    assert article.status_code == 200
    # The rice cereal comes in two flavours: its card sends the buyer to the option picker.
    assert "有机高铁米粉 225g" in article.text and "#pp-options" in article.text
    other = shop_client("chufang.localhost").get("/shop/")
    assert "不粘煎锅 28cm" in other.text
    assert "有机高铁米粉" not in other.text
    assert Tenant.objects.filter(schema_name__in=["shop_yuer", "shop_chufang"]).count() == 2


def test_shop_page_has_an_empty_state(shops, shop_client):
    page = shop_client("b.localhost").get("/shop/")

    assert page.status_code == 200
    assert 'class="notice"' in page.text
