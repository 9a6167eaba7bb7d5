"""Cached data never crosses shops (Wagtail caches site roots under fixed keys)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db


def canonical(html: str) -> str:
    match = re.search(r'<link rel="canonical" href="([^"]+)"', html)
    assert match, "page has no canonical link"
    return match.group(1)


def test_shop_b_links_point_at_b_after_shop_a_filled_the_cache(shops, shop_client):
    cache.clear()

    page_a = shop_client("a.localhost").get("/")
    page_b = shop_client("b.localhost").get("/")

    assert canonical(page_a.text) == "http://a.localhost/"
    assert canonical(page_b.text) == "http://b.localhost/"


def test_same_cache_key_holds_a_separate_value_per_shop(shops):
    with tenant_context(shops.a):
        cache.set("greeting", "from A")
    with tenant_context(shops.b):
        assert cache.get("greeting") is None
        cache.set("greeting", "from B")
    with tenant_context(shops.a):
        assert cache.get("greeting") == "from A"
    connection.set_schema_to_public()
    assert cache.get("greeting") is None
