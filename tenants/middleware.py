"""Routing requests to shops, and keeping suspended shops closed."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from wagtail.contrib.redirects.middleware import RedirectMiddleware


class ShopMiddleware(TenantMainMiddleware):
    """django-tenants' host → schema routing, plus: a suspended shop shows visitors a notice
    and keeps its admin closed to its creator until staff resume it."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.is_suspended:
            template = (
                "tenants/admin_closed.html"
                if request.path.startswith("/admin/")
                else "tenants/shop_suspended.html"
            )
            return render(request, template, {"shop": tenant}, status=403)
        return None


class ShopRedirectMiddleware(RedirectMiddleware):
    """Wagtail's redirects, only on shop hosts.

    Wagtail looks up the Site and its redirects on every 404; the platform domain runs in the
    public schema, which has no Wagtail tables, so its 404s would turn into 500s.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if connection.schema_name == get_public_schema_name():
            return response
        return super().process_response(request, response)
