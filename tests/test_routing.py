"""Hosts route to their own shop; unknown hosts get a 404 page; the platform site stays public."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_each_shop_serves_its_own_home_page(shops, shop_client):
    page_a = shop_client("a.localhost").get("/")
    page_b = shop_client("b.localhost").get("/")

    assert page_a.status_code == 200
    assert page_b.status_code == 200
    assert "<h1>Shop A</h1>" in page_a.text
    assert "Shop B" not in page_a.text
    assert "<h1>Shop B</h1>" in page_b.text
    assert "Shop A" not in page_b.text


def test_unknown_host_gets_a_clear_404_page(shops, shop_client):
    response = shop_client("nosuchshop.localhost").get("/some/page/")

    assert response.status_code == 404
    assert "Shop not found" in response.text or "找不到" in response.text
    assert "nosuchshop.localhost" in response.text
    assert "Traceback" not in response.text


def test_platform_site_never_touches_tenant_tables(shops, shop_client):
    with CaptureQueriesContext(connection) as queries:
        response = shop_client("localhost").get("/")

    assert response.status_code == 200
    assert "VStore" in response.text
    assert connection.schema_name == "public"
    tenant_tables = ("wagtail", "cms_", "storefront_", "taggit_")
    touched = [q["sql"] for q in queries if any(t in q["sql"] for t in tenant_tables)]
    assert touched == []


def test_platform_health_endpoint_reports_database_and_cache(shops, shop_client):
    response = shop_client("localhost").get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"database": True, "cache": True}


def test_shop_host_does_not_serve_the_platform_api(shops, shop_client):
    response = shop_client("a.localhost").get("/api/health", follow=True)

    assert response.status_code == 404
    assert "database" not in response.text
