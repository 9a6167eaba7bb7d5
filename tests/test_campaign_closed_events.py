"""campaign.closed: each campaign kind tells the shop's webhooks once, when it closes, and only
the shop it ran in (a second close records nothing new)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.flash.models import FlashSale
from storefront.flash.services import flash_sale_end
from storefront.groupbuy.services import groupbuy_close
from storefront.pricedrop.models import PriceDrop
from storefront.pricedrop.services import pricedrop_end
from storefront.shopapi.models import ShopDelivery, ShopWebhook

from .flash_helpers import sale_make
from .groupbuy_helpers import deadline_passes, tiered
from .pricedrop_helpers import drop_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def hooks(shop) -> None:
    with tenant_context(shop):
        ShopWebhook.objects.create(
            url="https://erp.example.com/hook", events=["campaign.closed"], secret="s" * 32
        )


def closed(shop) -> list[dict]:
    with tenant_context(shop):
        rows = ShopDelivery.objects.filter(event="campaign.closed").order_by("pk")
        return [row.payload for row in rows]


def test_a_price_drop_ending_tells_its_own_shop_once(shops):
    hooks(shops.a)
    hooks(shops.b)
    campaign = drop_make(shops.a)
    with tenant_context(shops.a):
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.STOPPED)
    (payload,) = closed(shops.a)
    assert (payload["kind"], payload["id"], payload["reason"]) == ("drop", campaign.pk, "stopped")
    assert payload["units_returned"] == campaign.quantity
    assert closed(shops.b) == []
    connection.set_schema_to_public()


def test_a_flash_sale_ending_tells_the_shop_what_was_sold(shops):
    hooks(shops.a)
    sale = sale_make(shops.a, quantity=5)
    with tenant_context(shops.a):
        later = timezone.now() + timedelta(hours=3)
        assert flash_sale_end(sale_id=sale.pk, now=later) == 5
        assert flash_sale_end(sale_id=sale.pk, now=later) == 0
        assert FlashSale.objects.get(pk=sale.pk).state == FlashSale.State.ENDED
    (payload,) = closed(shops.a)
    assert (payload["kind"], payload["id"]) == ("flash", sale.pk)
    assert (payload["units_ordered"], payload["units_returned"]) == (0, 5)
    connection.set_schema_to_public()


def test_a_group_buy_that_failed_its_minimum_tells_the_outcome(shops):
    hooks(shops.a)
    campaign, _item = tiered(shops.a, min_buyers=2)
    deadline_passes(shops.a, campaign)
    with tenant_context(shops.a):
        groupbuy_close(campaign_id=campaign.pk)
        groupbuy_close(campaign_id=campaign.pk)
    (payload,) = closed(shops.a)
    assert (payload["kind"], payload["id"], payload["outcome"]) == (
        "groupbuy",
        campaign.pk,
        "failed",
    )
    assert payload["buyers"] == 0 and payload["final_price_fen"] is None
    connection.set_schema_to_public()
