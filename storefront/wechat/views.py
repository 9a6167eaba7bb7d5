"""Where WeChat's silent authorisation comes back to: the platform's relay (/wx/oauth/relay, on
the platform host: see relay.py), then the shop's /wx/oauth/callback; and its stand-in for
development (/wx/dev/authorize: DEBUG without an official account only; 404 otherwise), which
comes straight back to the shop.

A visitor known by nothing but her openid keeps no session: the callback empties it and keeps
the openid in a signed cookie of the shop's host (storefront.orders.wx_identity), so that the
page cache still serves her. A session that holds anything else (a fan signed in, a creator,
the development browser switch) keeps the openid itself.

Whatever goes wrong (a forged or stale state, a spent code, WeChat down) the buyer lands on the
page she opened without an identity, never on an error: she can still buy, with another way to
pay. Codes, states and openids are never logged.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from storefront.models import Fan
from storefront.orders.selectors import SESSION_FAN
from storefront.orders.wx_identity import (
    SESSION_OPENID,
    cookie_identity_set,
    session_openid_set,
)
from wechat import client
from wechat.client import OAuthIdentity
from wechat.errors import OAuthCodeInvalid, WeChatError

from .identity import (
    DEV_CODE_PREFIX,
    DEV_OPENID_COOKIE,
    SESSION_PENDING,
    SESSION_TRIED,
    SESSION_UNIONID,
    code_plausible,
    dev_code_issue,
    dev_code_openid,
    dev_mode,
    dev_openid_new,
    openid_plausible,
    state_check,
    state_plausible,
)
from .relay import relay_mark, relay_mark_ok, request_hostname, shop_host_known, shop_origin
from .services import fan_by_openid, fan_sign_in, wechat_link

log = logging.getLogger(__name__)

_STATE = re.compile(r"[A-Za-z0-9]{1,128}")  # WeChat's rule for a state
# What this app alone keeps in a session: one holding nothing else needs no session.
OWN_KEYS = frozenset({SESSION_PENDING, SESSION_TRIED, SESSION_OPENID, SESSION_UNIONID})


def _identity(code: str) -> OAuthIdentity | None:
    """Who CODE says the buyer is, or None (the reason logged, never the code)."""
    if dev_mode():
        openid = dev_code_openid(code)
        if openid is None:
            log.info("wechat oauth: stand-in code refused")
            return None
        return OAuthIdentity(openid=openid)
    if code.startswith(DEV_CODE_PREFIX):
        log.warning("wechat oauth: a development code outside development")
        return None
    try:
        identity = client.oauth_code_exchange(code)
    except OAuthCodeInvalid as exc:  # expired, unknown or used: she goes on without one
        log.info("wechat oauth: code refused by WeChat (%s)", exc.code)
        return None
    except WeChatError as exc:  # WeChat down or refusing us (whitelist, secret): say which
        log.warning("wechat oauth: exchange failed (%s %s)", type(exc).__name__, exc.code)
        return None
    except ImproperlyConfigured:
        log.warning("wechat oauth: a code came back but no official account is configured")
        return None
    if not openid_plausible(identity.openid):
        log.warning("wechat oauth: WeChat's answer has an openid WeChat could not have issued")
        return None
    return identity


def _identify(request: HttpRequest, identity: OAuthIdentity) -> None:
    """Keep the openid in the session; sign in the fan of this shop who has it, or tie it to
    the fan already signed in here (she proved who she is with a code)."""
    session_openid_set(request, identity.openid)
    if identity.unionid:
        request.session[SESSION_UNIONID] = identity.unionid
    else:
        request.session.pop(SESSION_UNIONID, None)
    holder = fan_by_openid(identity.openid)
    signed_in = request.session.get(SESSION_FAN)
    if isinstance(signed_in, int):
        # Already signed in (by code): she stays who she is. Her openid is linked if free.
        fan = Fan.objects.filter(pk=signed_in).first()
        if fan is not None and holder is None:
            wechat_link(fan, identity.openid, identity.unionid)
        return
    if holder is not None:
        fan_sign_in(request, holder)


@never_cache
@require_GET
def oauth_callback_view(request: HttpRequest) -> HttpResponse:
    check = state_check(request, request.GET.get("state"))
    back = HttpResponseRedirect(check.target)  # a path on this host (identity.safe_next)
    if not check.ok:
        log.warning("wechat oauth: state refused (%s)", check.reason)
        return back
    code = request.GET.get("code", "")
    if not code_plausible(code):
        log.info("wechat oauth: no usable code in the callback")
        return back
    if not dev_mode() and not relay_mark_ok(
        request_hostname(request), code, request.GET.get("state"), request.GET.get("relay")
    ):
        log.warning("wechat oauth: a code that the platform's relay did not send to this host")
        return back
    identity = _identity(code)
    if identity is None:
        return back
    if identity.snapshot:
        # A Moments "snapshot" visitor's virtual openid: nobody's, so nothing is tied to it.
        log.info("wechat oauth: snapshot identity not kept")
        return back
    _identify(request, identity)
    if _needs_no_session(request):
        request.session.flush()  # the session cookie is deleted on the way out
        cookie_identity_set(request, back, identity.openid, identity.unionid or "")
    return back


def _needs_no_session(request: HttpRequest) -> bool:
    """Whether this session holds nothing but this app's own keys (no fan signed in)."""
    session = request.session
    return SESSION_FAN not in session and set(session.keys()) <= OWN_KEYS


@never_cache
@require_GET
def oauth_relay_view(request: HttpRequest) -> HttpResponse:
    """On the platform host, WeChat's one redirect_uri: on to the shop host the trip came from
    (?shop=), if that is a shop's; 400 for anything else (relay.py)."""
    shop = request.GET.get("shop", "")
    state = request.GET.get("state", "")
    code = request.GET.get("code", "")
    if not shop_host_known(shop):
        log.warning("wechat oauth relay: not a shop's host")
        return HttpResponseBadRequest("unknown shop")
    if not state_plausible(state) or (code and not code_plausible(code)):
        log.warning("wechat oauth relay: malformed code or state")
        return HttpResponseBadRequest("bad code or state")
    query = {"state": state}
    if code:  # no code: WeChat gave none; the shop sends the buyer back to her page
        query = {"code": code, "state": state, "relay": relay_mark(shop, code, state)}
    url = shop_origin(shop) + reverse("storefront:wx_oauth_callback", urlconf=settings.ROOT_URLCONF)
    return HttpResponseRedirect(f"{url}?{urlencode(query)}")


@never_cache
@require_GET
def dev_authorize_view(request: HttpRequest) -> HttpResponse:
    """The stand-in for WeChat's authorisation page: one tap back with a code for a made-up
    openid that this browser keeps (a cookie), as WeChat keeps one per person."""
    if not dev_mode():
        raise Http404
    state = request.GET.get("state", "")
    if not _STATE.fullmatch(state):
        return HttpResponseBadRequest("bad state")
    openid = request.COOKIES.get(DEV_OPENID_COOKIE)
    if request.GET.get("new") == "1" or not openid_plausible(openid):
        openid = dev_openid_new()
    assert openid is not None  # for the type checker: set just above when missing
    here = reverse("storefront:wx_dev_authorize")
    response = TemplateResponse(
        request,
        "storefront/wechat/dev_authorize.html",
        {
            "openid": openid,
            "continue_url": reverse("storefront:wx_oauth_callback")
            + "?"
            + urlencode({"code": dev_code_issue(openid), "state": state}),
            "another_url": here + "?" + urlencode({"state": state, "new": "1"}),
        },
    )
    response.set_cookie(
        DEV_OPENID_COOKIE,
        openid,
        max_age=int(timedelta(days=365).total_seconds()),
        httponly=True,
        samesite="Lax",
    )
    return response
