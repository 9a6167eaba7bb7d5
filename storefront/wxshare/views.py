"""GET /wx/jsconfig?url=<page>[&listing=<id>]: the JS-SDK's wx.config for a page of this shop."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.clients import client_bucket, rate_limited
from storefront.models import ShareLink
from storefront.orders.selectors import SESSION_FAN, session_fan
from wechat import client
from wechat.errors import WeChatError
from wechat.jssdk import jssdk_config

log = logging.getLogger(__name__)

URL_MAX = 2048
_LISTING = re.compile(r"[0-9]{1,9}")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def page_url_own(request: HttpRequest, url: str) -> str | None:
    """URL without its #fragment when it is an http(s) page on the host this request came to
    (a signature for another site's page is never handed out); None otherwise."""
    if not url or len(url) > URL_MAX or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    if parts.netloc.lower() != request.get_host().lower():
        return None
    return url.split("#", 1)[0]


def share_link_own(request: HttpRequest, listing: str) -> str | None:
    """The signed-in fan's own share link of LISTING (absolute), None without one."""
    if not _LISTING.fullmatch(listing):
        return None
    fan = session_fan(fan_id=request.session.get(SESSION_FAN))
    if fan is None:
        return None
    code = (
        ShareLink.objects.filter(listing_id=int(listing), sharer=fan)
        .values_list("code", flat=True)
        .first()
    )
    return request.build_absolute_uri(reverse("storefront:share", args=[code])) if code else None


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@require_GET
def jsconfig_view(request: HttpRequest) -> JsonResponse:
    if rate_limited(name="wx_jsconfig", value=client_bucket(request)):
        return _error(429, _("Too many requests. Please try again in a minute."))
    page = page_url_own(request, request.GET.get("url", ""))
    if page is None:
        return _error(400, _("This address is not a page of this shop."))
    if not client.configured():
        return _error(503, _("Sharing through WeChat is not set up for this shop."))
    try:
        config = jssdk_config(page)
    except (WeChatError, ImproperlyConfigured) as exc:
        # The error's text is already free of the AppSecret (wechat.redact).
        log.warning("WeChat JS-SDK config unavailable: %s", exc)
        return _error(503, _("WeChat is not answering just now. Please try again later."))
    link = share_link_own(request, request.GET.get("listing", ""))
    if link:
        config["shareLink"] = link
    return JsonResponse(config)
