"""Where tokens and webhooks are made: the shop admin's API page (owners only) and the supplier
portal's (its own rows only); the demo's tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from billing.supplierapi.models import SupplierToken
from catalog.testing import supplier_make
from core.api_keys import token_digest
from storefront.shopapi.models import ShopToken
from storefront.team.roles import SERVICE
from tests.api_helpers import call, supplier_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]


def test_an_owner_makes_a_token_that_is_shown_once_and_works(shops, creator):
    client = creator("a")
    page = client.post("/admin/api/tokens/new/", {"name": "ERP", "scopes": ["orders:read"]})
    assert page.status_code == 200
    plain = page.context["new_plain"]
    assert plain.encode() in page.content
    with tenant_context(shops.a):
        token = ShopToken.objects.get(name="ERP")
        assert token.digest == token_digest(plain)
    again = client.get("/admin/api/")
    assert again.status_code == 200 and plain.encode() not in again.content
    assert call(Client(HTTP_HOST="a.localhost"), "GET", "/api/v1/orders", plain).status_code == 200
    client.post(f"/admin/api/tokens/{token.pk}/revoke/")
    assert call(Client(HTTP_HOST="a.localhost"), "GET", "/api/v1/orders", plain).status_code == 401


def test_customer_service_cannot_reach_the_api_page(shops, shop_client):
    with tenant_context(shops.a):
        user = get_user_model().objects.create_user("cs-api", password="pw-12345678")
        user.groups.add(Group.objects.get(name=SERVICE.group))
        client = shop_client("a.localhost")
        client.force_login(user)
    assert client.get("/admin/api/").status_code in (302, 403)
    made = client.post("/admin/api/tokens/new/", {"name": "x", "scopes": ["orders:read"]})
    assert made.status_code in (302, 403)
    with tenant_context(shops.a):
        assert not ShopToken.objects.filter(name="x").exists()


def test_a_supplier_manages_only_its_own_tokens_in_the_portal(shops):
    me, other = supplier_make(), supplier_make()
    client = Client(HTTP_HOST="localhost")
    client.force_login(me.user)
    page = client.post("/supplier/api/tokens/new/", {"name": "WMS", "scopes": ["orders:read"]})
    assert page.status_code == 200
    plain = page.context["new_plain"]
    assert SupplierToken.objects.get(digest=token_digest(plain)).supplier == me
    theirs = supplier_token(other, ["orders:read"])
    their_row = SupplierToken.objects.get(digest=token_digest(theirs))
    assert client.post(f"/supplier/api/tokens/{their_row.pk}/revoke/").status_code == 404
    their_row.refresh_from_db()
    assert their_row.revoked_at is None
    bad = client.post(
        "/supplier/api/webhooks/new/", {"url": "ftp://x", "events": ["order.shipped"]}
    )
    assert bad.status_code == 200 and bad.context["webhook_form"].errors


def test_the_demo_tokens_are_fixed_idempotent_and_debug_only(shops, settings):
    from billing.supplierapi.demo import demo_seed as supplier_demo_seed
    from storefront.shopapi.demo import demo_seed

    settings.DEBUG = True
    first = demo_seed(shop=shops.a)
    assert demo_seed(shop=shops.a) == first == "vss_demo_shop_a"
    assert call(Client(HTTP_HOST="a.localhost"), "GET", "/api/v1/orders", first).status_code == 200
    connection.set_schema_to_public()  # the shop's request left the connection in its schema
    supplier = supplier_make()
    token = supplier_demo_seed(supplier=supplier)
    assert supplier_demo_seed(supplier=supplier) == token
    assert SupplierToken.objects.filter(supplier=supplier).count() == 1
    settings.DEBUG = False
    with pytest.raises(RuntimeError):
        demo_seed(shop=shops.a)
