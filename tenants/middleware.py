"""Routing requests to shops, and keeping suspended shops closed."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, schema_context
from wagtail.contrib.redirects.middleware import RedirectMiddleware


def _host_key(hostname: str) -> str:
    return f"shop-by-host:{hostname}"


def shop_by_host_forget(hostnames: list[str]) -> None:
    """Drop the cached shop of HOSTNAMES once the transaction commits (a suspension, a domain
    moved or removed must route the next request anew)."""

    def forget() -> None:
        with schema_context(get_public_schema_name()):  # where the middleware keeps them
            cache.delete_many([_host_key(h) for h in hostnames])

    transaction.on_commit(forget)


class ShopMiddleware(TenantMainMiddleware):
    """django-tenants' host → schema routing, plus: a suspended shop shows visitors a notice
    and keeps its admin closed to its creator until staff resume it.

    The shop for a host is kept in the cache for VSTORE_SHOP_DATA_CACHE_SECONDS (the one query
    every request made); saving or deleting a shop or a domain forgets its hosts (apps.py)."""

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """The host as Domain rows store it: lower-case, no port, no trailing dot, no "www.".

        Host names are case-insensitive (RFC 4343) and "shop.example.com." is the same name as
        "shop.example.com": browsers and bots send all of these. Django's split_domain_port
        lower-cases, drops the dot and copes with IPv6 literals ("[::1]:8000")."""
        domain, _port = split_domain_port(request.get_host())
        if not domain:
            raise DisallowedHost(f"Invalid HTTP_HOST header: {request.get_host()!r}")
        return domain.removeprefix("www.")

    def get_tenant(self, domain_model, hostname):
        seconds = int(getattr(settings, "VSTORE_SHOP_DATA_CACHE_SECONDS", 0) or 0)
        if not seconds:
            return super().get_tenant(domain_model, hostname)
        key = _host_key(hostname)  # the schema is public here: one key per host, platform-wide
        tenant = cache.get(key)
        if tenant is None:
            tenant = super().get_tenant(domain_model, hostname)  # unknown hosts: not cached
            cache.set(key, tenant, seconds)
        return tenant

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
        # django-tenants' connection wrapper has schema_name; Django's type does not say so.
        if getattr(connection, "schema_name", None) == get_public_schema_name():
            return response
        return super().process_response(request, response)
