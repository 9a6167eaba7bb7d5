"""Every write endpoint of both open APIs, from their published schemas, with bad input in every
field and bad bodies: never a 500, and only statuses the schema lists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from catalog.testing import first_sku, product_make, supplier_make
from tests.api_helpers import call, shop_token, supplier_token
from tests.storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]

BAD_VALUES: list[Any] = [
    "nul\x00byte",
    "bell\x07\u202eevil",
    "x" * 20_000,
    10**30,
    -(10**30),
    1.5,
    None,
    [],
    "\ud800",
]
BAD_BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"{}",
    b"\xff\xfe\x00",
    b"[" * 5000 + b"]" * 5000,
]


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _writes(schema: dict) -> list[tuple[str, str, dict, dict | None]]:
    found = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if method not in ("post", "put", "patch"):
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            props = _resolve(schema, body["schema"]) if body else None
            found.append((path, method, op, props))
    return found


def _fuzz(client: Client, prefix: str, token: str, schema: dict, ids: dict[str, int]) -> int:
    sent = 0
    for path, method, op, props in _writes(schema):
        allowed = {int(c) for c in op["responses"]}
        # A row of this shop or supplier (every field fuzzed), then ids that are nobody's.
        for pid in ("real", "99999999999999999999", "0"):
            url = path  # the schema's paths are whole (prefix included)
            for name in (
                "listing_id",
                "coupon_id",
                "sku_id",
                "order_id",
                "return_id",
                "delivery_id",
                "campaign_id",
            ):
                url = url.replace("{" + name + "}", str(ids.get(name, 0)) if pid == "real" else pid)
            # A campaign's kind is a word: a real one, then one that is no kind.
            url = url.replace("{kind}", "flash" if pid == "real" else "x" + pid)
            bodies = list(BAD_BODIES) if pid == "real" else [b"{}", b"{"]
            for field in (props or {}).get("properties", {}) if pid == "real" else ():
                for value in BAD_VALUES:
                    bodies.append(json.dumps({field: value}).encode("utf-8", "surrogatepass"))
            for raw in bodies:
                answer = call(client, method, url, token, raw=raw)
                sent += 1
                assert answer.status_code < 500, (method, url, raw[:80], answer.content[:300])
                assert answer.status_code in allowed, (method, url, raw[:80], answer.status_code)
                if answer.status_code >= 400:
                    assert set(answer.json()) == {"code", "message", "errors"}
            if "{" not in path:
                break
    return sent


def test_no_write_of_the_shop_api_answers_500_or_outside_its_schema(shops, shop_client):
    client = shop_client("a.localhost")
    token = shop_token(shops.a)
    listing, _item = listed(shops.a)
    schema = client.get("/api/v1/openapi.json").json()
    sent = _fuzz(client, "/api/v1", token, schema, {"listing_id": listing.pk})
    assert sent > 150


def test_no_write_of_the_supplier_api_answers_500_or_outside_its_schema(shops):
    client = Client(HTTP_HOST="localhost")
    supplier = supplier_make()
    token = supplier_token(supplier)
    sku = first_sku(product_make(supplier=supplier, skus=1))
    schema = client.get("/api/v1/supplier/openapi.json").json()
    sent = _fuzz(client, "/api/v1/supplier", token, schema, {"sku_id": sku.pk})
    assert sent > 150
