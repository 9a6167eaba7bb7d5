"""A short-lived full-page cache for what anonymous readers GET from a shop's Wagtail pages.

Rendering an article with product cards costs far more than the request around it (DESIGN.md:
a Wagtail page ≈270 req/s against ≈2,200 for a view with one query). A follower's first visit
from a share in WeChat is anonymous, so those pages are kept for VSTORE_PAGE_CACHE_SECONDS
(a few seconds: cards show live stock, and checkout checks stock again anyway; 0 turns it off).

What is cached, and for whom:
- only Wagtail's page view (articles, the shop page and its product pages), GET, status 200;
- never for a visitor with a session, cart or messages cookie (a signed-in creator, a buyer
  with a cart), never a response that sets a cookie, touched the session or queued a message,
  nor one marked private / no-cache / no-store. Other cookies do not count: a WeChat reader
  known by nothing but her openid keeps it in a cookie of its own, not a session
  (storefront.orders.wx_identity), and these pages do not depend on it;
- keys carry the scheme, host (custom domains too), language and full path; the cache's key
  function (django_tenants.cache.make_key) adds the shop's schema.

Pages carry CSRF tokens in their buy forms, which are per visitor. The stored copy has a
placeholder instead, and each visitor gets their own token (and CSRF cookie) when it is served.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.response import SimpleTemplateResponse
from django.utils.cache import get_max_age

from core.shop import in_shop

PAGE_VIEW = "wagtail_serve"
PLACEHOLDER = b"__vstore_csrf_token__"
TOKEN_FIELD = re.compile(rb'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(")')
PRIVATE = ("private", "no-cache", "no-store")


def _seconds() -> int:
    return int(getattr(settings, "VSTORE_PAGE_CACHE_SECONDS", 0) or 0)


def _anonymous(request: HttpRequest) -> bool:
    cookies = request.COOKIES
    from storefront.orders.cart import COOKIE as CART_COOKIE

    return not (
        settings.SESSION_COOKIE_NAME in cookies
        or CART_COOKIE in cookies
        or getattr(settings, "MESSAGE_COOKIE_NAME", "messages") in cookies
    )


def page_cache_key(request: HttpRequest) -> str:
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    return f"page:{request.scheme}:{request.get_host()}:{language}:{path}"


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if any(word in response.get("Cache-Control", "") for word in PRIVATE):
        return False
    if get_max_age(response) == 0:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", None)
    return not queued


class PageCacheMiddleware:
    """Place after MessageMiddleware (and so after sessions, CSRF and auth)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        key = getattr(request, "_page_cache_key", None)
        if key and _storable(request, response):
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            body = TOKEN_FIELD.sub(rb"\1" + PLACEHOLDER + rb"\2", response.content)
            cache.set(key, (response["Content-Type"], body), _seconds())
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if (
            request.method != "GET"
            or _seconds() <= 0
            or not in_shop()
            or getattr(request.resolver_match, "url_name", None) != PAGE_VIEW
            or not _anonymous(request)
        ):
            return None
        key = page_cache_key(request)
        hit = cache.get(key)
        if hit is None:
            # A private mark for __call__ on the way out (HttpRequest declares no such field).
            setattr(request, "_page_cache_key", key)  # noqa: B010
            return None
        content_type, body = hit
        if PLACEHOLDER in body:
            body = body.replace(PLACEHOLDER, get_token(request).encode())
        return HttpResponse(body, content_type=content_type)
