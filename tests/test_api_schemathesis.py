"""Schemathesis against both published OpenAPI schemas (the shop's on a shop's host, the
suppliers' on the platform host): every operation with generated valid and invalid requests,
every built-in check on. No server error, no answer outside the schema.

The requests go through Django in this process (a WSGI adapter around Django's test handler),
so each runs inside the test's transaction on the real PostgreSQL and Redis, with tokens that
hold every scope. Examples are bounded and the seed fixed: the run is the same every time and
its requests take under a minute for both schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test.client import ClientHandler
from schemathesis import Case, Config

from catalog.testing import first_sku, product_make, supplier_make
from tests.api_helpers import shop_order_make, shop_token, supplier_token
from tests.storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]

# Fuzzing examples per operation (the coverage phase adds its own boundary and negative
# cases on top); with ~35 operations this keeps both schemas near a minute together.
MAX_EXAMPLES = 12
SEED = 18

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def django_wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Django as a WSGI app that keeps the test's transaction: its test handler, which stops
    request_finished from closing the connection (CONN_MAX_AGE=0 in tests) mid-test."""
    handler = ClientHandler(enforce_csrf_checks=False)
    request_finished.disconnect(close_old_connections)
    try:
        response = handler(environ)
    finally:
        request_finished.connect(close_old_connections)
    headers = [*response.items()]
    headers += [("Set-Cookie", c.output(header="")) for c in response.cookies.values()]
    start_response(f"{response.status_code} {response.reason_phrase}", headers)
    return [response.content]


# What positive_data_acceptance expects of a request the schema allows (schemathesis' own list),
# and 422 besides where the API's rules go beyond what a schema can say: a write's references
# (a product, SKU or listing item of this shop), its times against now and each other, prices
# inside the supplier's bounds, a webhook URL on the public Internet; the daily figures' span
# of at most 366 days ending today by default. Every other answer stays as schemathesis wants.
ACCEPTED = list(Config().projects.default.checks.positive_data_acceptance.expected_statuses)
RULES_BEYOND_THE_SCHEMA = {"expected-statuses": [*ACCEPTED, "422"]}


def _config(*, host: str, token: str) -> Config:
    # Every built-in check is on (schemathesis' default); only the list above is widened.
    return Config.from_dict(
        {
            "seed": SEED,
            "base-url": f"http://{host}",
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
            },
            "operations": [
                {
                    "include-method-regex": "^(POST|PUT|PATCH)$",
                    "checks": {"positive_data_acceptance": RULES_BEYOND_THE_SCHEMA},
                },
                {
                    "include-path-regex": "/analytics/daily$",
                    "checks": {"positive_data_acceptance": RULES_BEYOND_THE_SCHEMA},
                },
            ],
        }
    )


def _load(path: str, *, host: str, token: str) -> Any:
    config = _config(host=host, token=token)
    return schemathesis.openapi.from_wsgi(path, django_wsgi, config=config, headers={"Host": host})


@pytest.fixture
def shop_schema(shops) -> Any:
    _listing, item = listed(shops.a)
    shop_order_make(shops.a, listing_item=item)
    return _load("/api/v1/openapi.json", host="a.localhost", token=shop_token(shops.a))


@pytest.fixture
def supplier_schema(shops) -> Any:
    supplier = supplier_make()
    first_sku(product_make(supplier=supplier, skus=2))
    return _load("/api/v1/supplier/openapi.json", host="localhost", token=supplier_token(supplier))


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # Schemathesis' lazy schemas read and write `_nodeid` on the test item to name each
    # operation's subtest; pytest 9.2 keeps the id elsewhere, so give it the attribute.
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        node._nodeid = node.nodeid


def test_every_built_in_check_is_on_for_every_operation() -> None:
    import schemathesis.specs.openapi.checks  # noqa: F401 (registers the OpenAPI checks)
    from schemathesis.checks import CHECKS

    project = _config(host="localhost", token="none").projects.default
    names = CHECKS.get_all_names()
    assert {"not_a_server_error", "response_schema_conformance", "negative_data_rejection"} < set(
        names
    )
    for checks in [project.checks, *(op.checks for op in project.operations.operations)]:
        assert all(getattr(checks, name).enabled for name in names), names
    assert "422" not in ACCEPTED


shop = schemathesis.pytest.from_fixture("shop_schema")
supplier = schemathesis.pytest.from_fixture("supplier_schema")


@shop.parametrize()
def test_the_shop_api_answers_within_its_schema(case: Case) -> None:
    # The WSGI transport sends Host: localhost unless given the base URL with each call (the
    # checks that send a request again reuse it).
    case.call_and_validate(base_url="http://a.localhost")


@supplier.parametrize()
def test_the_supplier_api_answers_within_its_schema(case: Case) -> None:
    case.call_and_validate(base_url="http://localhost")
