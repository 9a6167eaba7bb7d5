"""The platform's public JSON API (Django Ninja); its OpenAPI schema is at /api/openapi.json."""

from __future__ import annotations

from ninja import NinjaAPI, Schema, Status

from .health import services_status

api = NinjaAPI(title="VStore platform API", version="1", urls_namespace="platform-api")


class Health(Schema):
    database: bool
    cache: bool


@api.get("/health", response={200: Health, 503: Health}, summary="Database and cache reachable")
def health(request):
    status = services_status()
    return Status(200 if all(status.values()) else 503, status)
