"""The shop data cache's request side: Wagtail's Site for the host, read from the cache.

The cache itself (generations, entries, bumps) is core.shop_cache, so that storefront, below
cms, can start a new generation when a listing changes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.shop import in_shop
from core.shop_cache import cached, request_generations_begin, request_generations_end, seconds


class ShopSiteMiddleware:
    """Give Wagtail the shop's Site for this host, with its home page, from the cache (Wagtail
    otherwise reads both on every request), and read the shop's generation once per request.
    Place after the tenant middleware and before the page cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_generations_begin()
        try:
            self._site(request)
            return self.get_response(request)
        finally:
            request_generations_end(token)

    @staticmethod
    def _site(request: HttpRequest) -> None:
        if seconds() and in_shop():
            from wagtail.models import Site

            def find() -> Site | None:
                site = Site.find_for_request(request)
                if site is not None:
                    # Routing starts from site.root_page.specific: keep the home page in its
                    # specific form too (a content-type and a page read fewer per request).
                    site.root_page = site.root_page.specific
                return site

            # Wagtail keeps the request's Site in this attribute; find_for_request reads it
            # (a private attribute HttpRequest does not declare, hence setattr).
            setattr(request, "_wagtail_site", cached(f"site:{request.get_host()}", find))  # noqa: B010
