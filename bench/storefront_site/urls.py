"""A shop's URLs plus /bench/bare/: the same middleware (shop lookup, sessions, CSRF, locale)
in front of a view that does nothing, the baseline the pages are compared with."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls_tenant import urlpatterns as shop_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *shop_urlpatterns]
