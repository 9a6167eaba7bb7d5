"""Inside WeChat, learn who the buyer is before the first page is served: one silent trip
through WeChat's web authorisation (snsapi_base: no screen, no tap), back to the same page.

Placed after AuthenticationMiddleware and before cms.page_cache.PageCacheMiddleware (which
serves cached pages from its process_view): a page GET from WeChat's browser in a shop whose
session has no openid yet goes to WeChat first. Once per TRY_AGAIN_SECONDS at most, whatever
happens there, so a buyer who goes back or a WeChat that fails never loops. Other browsers are
told apart by their User-Agent alone: their requests never touch the session here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from core.shop import in_shop
from storefront.orders.wx_identity import acts_as_wechat, session_openid
from wechat import client

from .identity import (
    SESSION_DEV_BROWSER,
    SESSION_TRIED,
    TRY_AGAIN_SECONDS,
    dev_mode,
    safe_next,
    state_issue,
)
from .relay import relay_url, request_hostname

log = logging.getLogger(__name__)

# Not pages a buyer opens: admin, API, files, and this app's own routes.
SKIPPED_PREFIXES = (
    "/admin/",
    "/api/",
    "/static/",
    "/media/",
    "/documents/",
    "/files/",
    "/wx/",
    "/account/welcome/",
    "/sitemap.xml",
    "/robots.txt",
    "/favicon.ico",
)


def wechat_browser(request: HttpRequest) -> bool:
    """WeChat's in-app browser (not WeCom's, whose browser the official account cannot
    authorise in); in development also a browser that asked with ?wx=1."""
    return acts_as_wechat(request)


def _page_navigation(request: HttpRequest) -> bool:
    """A page the buyer opens, not a script's request (XHR, htmx, fetch, JSON)."""
    headers = request.headers
    if headers.get("X-Requested-With") == "XMLHttpRequest" or "HX-Request" in headers:
        return False
    if headers.get("Sec-Fetch-Mode", "navigate") != "navigate":
        return False
    if headers.get("Sec-Fetch-Dest", "document") not in ("document", ""):
        return False
    accept = headers.get("Accept", "")
    return not ("json" in accept and "text/html" not in accept)


def _skipped_path(path: str) -> bool:
    prefixes = SKIPPED_PREFIXES + tuple(
        url for url in (settings.STATIC_URL, settings.MEDIA_URL) if url and url.startswith("/")
    )
    return path.startswith(prefixes)


def authorize_url(request: HttpRequest, state: str) -> str:
    """WeChat's authorisation page, coming back through the platform's relay to this shop host
    (relay.py: WeChat returns only to the account's registered domains); or the development
    stand-in, which comes straight back here."""
    if dev_mode():
        return reverse("storefront:wx_dev_authorize") + "?" + urlencode({"state": state})
    return client.oauth_authorize_url(
        redirect_uri=relay_url(request_hostname(request)), state=state
    )


class WeChatIdentityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and in_shop():
            if settings.DEBUG and request.GET.get("wx") in ("0", "1"):
                # Development: try the WeChat journey in an ordinary browser.
                if request.GET["wx"] == "1":
                    request.session[SESSION_DEV_BROWSER] = True
                else:
                    request.session.pop(SESSION_DEV_BROWSER, None)
            redirect = self._authorize(request)
            if redirect is not None:
                return redirect
        return self.get_response(request)

    def _authorize(self, request: HttpRequest) -> HttpResponse | None:
        if _skipped_path(request.path) or not _page_navigation(request):
            return None
        if not wechat_browser(request) or session_openid(request) is not None:
            return None
        if dev_mode():
            # The stand-in only for a session that asked for it (?wx=1): a browser that merely
            # says MicroMessenger in development (a test, devtools' device mode) is not sent
            # to a page it did not ask for.
            if not request.session.get(SESSION_DEV_BROWSER):
                return None
        elif not client.configured():
            return None
        tried = request.session.get(SESSION_TRIED)
        now = int(time.time())
        if isinstance(tried, int) and 0 <= now - tried < TRY_AGAIN_SECONDS:
            return None
        host = request.get_host()
        next_path = safe_next(request.get_full_path(), host) or safe_next(request.path, host)
        try:
            url = authorize_url(request, state_issue(request, next_path or "/"))
        except (ImproperlyConfigured, ValueError) as exc:
            log.warning("wechat: no silent authorisation (%s)", type(exc).__name__)
            return None
        request.session[SESSION_TRIED] = now
        response = HttpResponseRedirect(url)
        add_never_cache_headers(response)
        return response
