from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/platform_home.html")


def shop_not_found(request: HttpRequest) -> HttpResponse:
    """What a host that matches no shop gets (settings.DEFAULT_NOT_FOUND_TENANT_VIEW)."""
    return render(request, "tenants/shop_not_found.html", {"host": request.get_host()}, status=404)
