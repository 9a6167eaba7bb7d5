"""API tokens: stored hashed, shown once, scoped, revocable, bound to their host, rate limited."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from billing.supplierapi.models import SupplierToken
from billing.supplierapi.services import supplier_token_revoke
from catalog.testing import supplier_make
from core.api_keys import token_digest
from storefront.shopapi.models import ShopToken
from storefront.shopapi.services import shop_token_create, shop_token_revoke
from tests.api_helpers import call, shop_token, supplier_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]


def platform() -> Client:
    return Client(HTTP_HOST="localhost")


def test_a_token_is_shown_once_and_stored_only_as_a_keyed_hash(shops):
    with tenant_context(shops.a):
        row, plain = shop_token_create(name="ERP", scopes=["orders:read"])
        stored = ShopToken.objects.get(pk=row.pk)
        assert plain.startswith("vss_") and len(plain) > 40
        assert stored.digest == token_digest(plain) != plain
        # Nothing stored gives the token back: only its digest and an 8-character hint.
        values = [str(v) for v in ShopToken.objects.filter(pk=row.pk).values().first().values()]
        assert not any(plain in v for v in values)
        assert stored.hint == plain[:8]


def test_no_token_a_wrong_one_or_a_revoked_one_is_401(shops, shop_client):
    client = shop_client("a.localhost")
    assert call(client, "GET", "/api/v1/orders", None).status_code == 401
    assert call(client, "GET", "/api/v1/orders", "vss_" + "x" * 43).status_code == 401
    plain = shop_token(shops.a, ["orders:read"])
    assert call(client, "GET", "/api/v1/orders", plain).status_code == 200
    with tenant_context(shops.a):
        shop_token_revoke(token=ShopToken.objects.get(digest=token_digest(plain)))
    answer = call(client, "GET", "/api/v1/orders", plain)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_a_token_without_the_scope_is_403(shops, shop_client):
    plain = shop_token(shops.a, ["listings:read"])
    answer = call(shop_client("a.localhost"), "GET", "/api/v1/orders", plain)
    assert answer.status_code == 403
    assert "orders:read" in answer.json()["message"]


def test_a_shop_token_works_only_on_its_own_shops_host(shops, shop_client):
    plain = shop_token(shops.a, ["orders:read"])
    assert call(shop_client("a.localhost"), "GET", "/api/v1/orders", plain).status_code == 200
    assert call(shop_client("b.localhost"), "GET", "/api/v1/orders", plain).status_code == 401
    # Nor on the platform host, where only the supplier API lives.
    assert call(platform(), "GET", "/api/v1/supplier/orders", plain).status_code == 401


def test_a_supplier_token_works_only_on_the_platform_host(shops, shop_client):
    supplier = supplier_make()
    plain = supplier_token(supplier, ["orders:read"])
    assert call(platform(), "GET", "/api/v1/supplier/orders", plain).status_code == 200
    assert call(shop_client("a.localhost"), "GET", "/api/v1/orders", plain).status_code == 401
    # A shop's host has no supplier API (the path falls through to the shop's pages).
    elsewhere = call(shop_client("a.localhost"), "GET", "/api/v1/supplier/orders", plain)
    assert elsewhere.status_code in (301, 401, 404)
    supplier_token_revoke(token=SupplierToken.objects.get(digest=token_digest(plain)))
    assert call(platform(), "GET", "/api/v1/supplier/orders", plain).status_code == 401


def test_last_use_is_recorded(shops, shop_client):
    plain = shop_token(shops.a, ["orders:read"])
    call(shop_client("a.localhost"), "GET", "/api/v1/orders", plain)
    with tenant_context(shops.a):
        assert ShopToken.objects.get(digest=token_digest(plain)).last_used_at is not None


def test_over_the_tokens_rate_the_answer_is_429_with_retry_after(shops, shop_client, settings):
    settings.VSTORE_RATES = {**settings.VSTORE_RATES, "api": "3/m"}
    client = shop_client("a.localhost")
    plain = shop_token(shops.a, ["orders:read"])
    other = shop_token(shops.a, ["orders:read"])
    codes = [call(client, "GET", "/api/v1/orders", plain).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = call(client, "GET", "/api/v1/orders", plain)
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The limit is the token's: another token of the shop still gets through.
    assert call(client, "GET", "/api/v1/orders", other).status_code == 200


def test_scopes_must_come_from_the_list(shops):
    from django.core.exceptions import ValidationError

    with tenant_context(shops.a), pytest.raises(ValidationError):
        shop_token_create(name="x", scopes=["everything"])
    with tenant_context(shops.a), pytest.raises(ValidationError):
        shop_token_create(name="bad\x00name", scopes=["orders:read"])
