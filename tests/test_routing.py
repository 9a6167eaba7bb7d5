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


@pytest.mark.parametrize(
    "host", ["A.LOCALHOST", "A.Localhost", "a.localhost.", "A.LOCALHOST.:8000", "www.a.localhost"]
)
def test_host_names_route_whatever_their_case_trailing_dot_or_port(shops, shop_client, host):
    # Host names are case-insensitive (RFC 4343); phones and chat apps send them capitalised.
    response = shop_client(host).get("/")

    assert response.status_code == 200
    assert "<h1>Shop A</h1>" in response.text


def test_a_malformed_host_gets_a_404_not_a_500(shops, shop_client):
    response = shop_client("a.localhost:notaport").get("/")

    assert response.status_code in (400, 404)
    assert "Traceback" not in response.text


def _login(shop_client, username: str):
    client = shop_client("localhost")
    response = client.post("/accounts/login/", {"username": username, "password": "pw-Landing-1"})
    assert response.status_code == 302, response.text[:500]
    return client, response


@pytest.mark.parametrize(
    ("kind", "landing"), [("staff", "/console/"), ("supplier", "/supplier/"), ("plain", "/")]
)
def test_a_platform_login_lands_where_that_kind_of_user_works(shops, shop_client, kind, landing):
    import uuid

    from django.contrib.auth import get_user_model

    from catalog.models import Supplier

    username = f"landing-{kind}-{uuid.uuid4().hex[:8]}"
    user = get_user_model().objects.create_user(
        username=username, password="pw-Landing-1", is_staff=kind == "staff"
    )
    if kind == "supplier":
        Supplier.objects.create(
            user=user,
            company_name="落地页供应链有限公司",
            credit_code=uuid.uuid4().hex[:18].upper(),
            contact_name="张三",
            contact_phone="13800000000",
        )

    client, response = _login(shop_client, username)
    sent_to = client.get(response["Location"])

    assert sent_to.status_code == 302
    assert sent_to["Location"] == landing
    assert client.get(landing).status_code == 200  # the page she belongs on, not a 404


def test_a_login_with_next_still_goes_to_next(shops, shop_client):
    import uuid

    from django.contrib.auth import get_user_model

    username = f"landing-next-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create_user(username=username, password="pw-Landing-1", is_staff=True)
    client = shop_client("localhost")

    response = client.post(
        "/accounts/login/?next=/console/shops/",
        {"username": username, "password": "pw-Landing-1", "next": "/console/shops/"},
    )

    assert response["Location"] == "/console/shops/"
