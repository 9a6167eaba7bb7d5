"""Who the visitor is inside WeChat: the openid the silent web authorisation (snsapi_base) gave
this browser. Orders defines where it is kept (checkout reads it); storefront.wechat, which
builds on orders, sets it.

Two places, both this shop host's alone, so shop B never learns what shop A did:
- the shop's session, when the visitor has one for other reasons (a fan signed in, a creator,
  the development browser switch);
- otherwise a signed cookie (COOKIE), host-only and signed for this host name: a visitor known
  only by her openid keeps no session, so the page cache (cms.page_cache) still serves her
  cached pages. A value signed for another host, or altered, counts as nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from storefront.models import Fan

SESSION_OPENID = "storefront_wx_openid"

COOKIE = "vstore_wx_id"
COOKIE_SALT = "storefront.orders.wx-identity"
COOKIE_SECONDS = int(timedelta(days=30).total_seconds())
# An openid or unionid as WeChat issues them; "." (never in either) separates the two.
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _salt(request: HttpRequest) -> str:
    # The host name is part of the salt: a value from shop A's host is worthless on shop B's.
    hostname, _port = split_domain_port(request.get_host())
    return f"{COOKIE_SALT}:{hostname}"


def cookie_identity(request: HttpRequest) -> tuple[str, str] | None:
    """(openid, unionid or "") from this host's signed cookie; None if absent or not ours."""
    if COOKIE not in request.COOKIES:
        return None
    value = request.get_signed_cookie(
        COOKIE, default=None, salt=_salt(request), max_age=COOKIE_SECONDS
    )
    if not isinstance(value, str):
        return None
    openid, _sep, unionid = value.partition(".")
    if not _ID.fullmatch(openid) or (unionid and not _ID.fullmatch(unionid)):
        return None
    return openid, unionid


def cookie_identity_set(
    request: HttpRequest, response: HttpResponse, openid: str, unionid: str = ""
) -> None:
    """Keep OPENID (and UNIONID) in this host's signed cookie on RESPONSE."""
    if not _ID.fullmatch(openid):
        raise ValueError("not an openid")
    value = f"{openid}.{unionid}" if unionid and _ID.fullmatch(unionid) else openid
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=_salt(request),
        max_age=COOKIE_SECONDS,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )  # no domain: host-only, never sent to another shop's host


def session_openid(request: HttpRequest) -> str | None:
    """The visitor's openid: her session's, else her signed cookie's; None if neither."""
    value = request.session.get(SESSION_OPENID)
    if isinstance(value, str) and value:
        return value
    kept = cookie_identity(request)
    return kept[0] if kept else None


def session_openid_set(request: HttpRequest, openid: str) -> None:
    request.session[SESSION_OPENID] = openid


def fan_verified(request: HttpRequest, fan: Fan) -> None:
    """FAN has just proved who she is in this session (a sign-in code): with an openid in the
    session, VSTORE_FAN_VERIFIED_HOOK (storefront.wechat.services.session_fan_link) may tie it
    to her. Through settings because storefront.fans and storefront.wechat are siblings that do
    not import each other."""
    hook = getattr(settings, "VSTORE_FAN_VERIFIED_HOOK", "")
    if hook and session_openid(request):
        import_string(hook)(request=request, fan=fan)


# Development only (DEBUG): a session that asked with ?wx=1 acts as WeChat's browser, so the
# in-WeChat path (silent authorisation, the pay bridge, the address button: their stand-ins)
# can be tried in any browser. storefront.wechat's middleware sets it.
SESSION_DEV_BROWSER = "storefront_wx_dev_browser"


def acts_as_wechat(request: HttpRequest) -> bool:
    """WeChat's in-app browser (not WeCom's), or in development a session that asked to act
    as one."""
    agent = str(request.META.get("HTTP_USER_AGENT") or "")[:1000]
    if "MicroMessenger" in agent and "wxwork" not in agent:
        return True
    session = getattr(request, "session", None)
    return bool(settings.DEBUG) and session is not None and bool(session.get(SESSION_DEV_BROWSER))
