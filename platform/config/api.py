"""The JSON APIs (Django Ninja), each with its OpenAPI schema and docs page:

- the platform's (/api/ on the platform host): health; schema at /api/openapi.json;
- the suppliers' (/api/v1/supplier/ on the platform host): billing.supplierapi;
- a shop's, for its creator's programs (/api/v1/ on the shop's host): storefront.shopapi.

Every answer of the two open APIs that is not a success is an ApiError with its status in the
schema (billing.supplierapi.machinery.errors_install); docs at <base>/docs.
"""

from __future__ import annotations

from ninja import NinjaAPI, Schema, Status

from billing.supplierapi.api import router as supplier_router
from billing.supplierapi.machinery import errors_install
from storefront.shopapi.api import router as shop_router
from storefront.shopapi.campaigns_api import router as campaigns_router

from .health import services_status

api = NinjaAPI(title="VStore platform API", version="1", urls_namespace="platform-api")

_OPEN_API_DESCRIPTION = (
    "Authenticate with `Authorization: Bearer <token>`. Writes take an `Idempotency-Key` "
    "header (same key and body: the first answer again; different body: 422). Errors are "
    "`{code, message, errors}`; 429 carries `Retry-After`. Money is in fen (integers)."
)

supplier_api = NinjaAPI(
    title="VStore supplier API",
    version="1",
    description=_OPEN_API_DESCRIPTION,
    urls_namespace="supplier-api",
)
errors_install(supplier_api)
supplier_api.add_router("", supplier_router)

shop_api = NinjaAPI(
    title="VStore shop API",
    version="1",
    description=_OPEN_API_DESCRIPTION,
    urls_namespace="shop-api",
)
errors_install(shop_api)
shop_api.add_router("", shop_router)
shop_api.add_router("", campaigns_router)


class Health(Schema):
    database: bool
    cache: bool


@api.get("/health", response={200: Health, 503: Health}, summary="Database and cache reachable")
def health(request):
    status = services_status()
    return Status(200 if all(status.values()) else 503, status)
