"""Routing requests to shops, and keeping suspended shops closed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware


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
