"""Wagtail's redirect lookup, only where Wagtail's tables exist.

Wagtail's RedirectMiddleware looks up the Site on every 404. The platform domain runs in the
public schema, which has no Wagtail tables, so every 404 there (a supplier guessing another
supplier's product id) turned into a 500. Shops keep their redirects unchanged.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_tenants.utils import get_public_schema_name
from wagtail.contrib.redirects.middleware import RedirectMiddleware


class ShopRedirectMiddleware(RedirectMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(connection, "schema_name", None) == get_public_schema_name():
            return response
        return super().process_response(request, response)
