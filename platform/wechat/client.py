"""WeChat's official-account HTTP API (api.weixin.qq.com): the one place that calls it.

Settings: WECHAT_OA_APPID, WECHAT_OA_SECRET (the AppSecret: never logged, never in a page or an
exception's text), WECHAT_API_BASE and WECHAT_OPEN_BASE (WeChat's hosts; tests point them at a
loopback server), WECHAT_HTTP_TIMEOUT.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import credentials
from .errors import (
    OAUTH_CODE_INVALID,
    TOKEN_INVALID,
    OAuthCodeInvalid,
    WeChatError,
    WeChatUnavailable,
)
from .redact import redact

log = logging.getLogger(__name__)

# WeChat's rule for the OAuth state parameter: a-zA-Z0-9, at most 128 bytes.
_STATE = re.compile(r"[A-Za-z0-9]{1,128}")


def configured() -> bool:
    """Whether an official account is set up (callers offer WeChat features only then)."""
    return bool(settings.WECHAT_OA_APPID and settings.WECHAT_OA_SECRET)


def _account() -> tuple[str, str]:
    if not configured():
        raise ImproperlyConfigured("WECHAT_OA_APPID and WECHAT_OA_SECRET are not set")
    return settings.WECHAT_OA_APPID, settings.WECHAT_OA_SECRET


def _key(name: str) -> str:
    # Per AppID: two accounts (or a changed one) never share a token.
    return f"wechat:oa:{settings.WECHAT_OA_APPID}:{name}"


def _lock_seconds() -> float:
    # A ticket refresh may make four calls (token, ticket, fresh token, ticket again).
    return 4 * settings.WECHAT_HTTP_TIMEOUT + 2


def _call(
    method: str, path: str, *, params: dict[str, str] | None = None, body: dict | None = None
) -> dict[str, Any]:
    """WeChat's JSON answer to METHOD PATH; its errcode other than 0 raises WeChatError."""
    try:
        response = requests.request(
            method,
            settings.WECHAT_API_BASE + path,
            params=params,
            json=body,
            timeout=settings.WECHAT_HTTP_TIMEOUT,
        )
    except requests.RequestException as exc:
        # The exception's text has the full URL, and the OAuth exchange's has the secret in its
        # query: neither it nor its chain goes on (`from None`), only what kind of failure.
        raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise WeChatUnavailable(f"{path}: HTTP {response.status_code}")
    try:
        # Parsed from the bytes: WeChat labels some JSON answers text/plain.
        data = json.loads(response.content)
    except ValueError:
        raise WeChatUnavailable(f"{path}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise WeChatUnavailable(f"{path}: the answer is not a JSON object")
    code = data.get("errcode") or 0
    if code:
        errmsg = redact(str(data.get("errmsg", "")))
        if not isinstance(code, int):
            raise WeChatUnavailable(f"{path}: errcode {redact(str(code))!r} {errmsg}")
        raise WeChatError(code, errmsg)
    return data


def _issued(data: dict[str, Any], field: str, path: str) -> credentials.Issued:
    value, expires_in = data.get(field), data.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(expires_in, int):
        raise WeChatUnavailable(f"{path}: no {field} and expires_in in the answer")
    return credentials.Issued(value=value, expires_in=expires_in)


# --- access_token -------------------------------------------------------------------------------


def access_token() -> str:
    """The account's access_token, from Redis; one worker asks WeChat when it is due."""
    return credentials.credential(
        _key("access_token"), _access_token_issue, lock_seconds=_lock_seconds()
    )


def access_token_invalidate(token: str) -> None:
    """WeChat refused TOKEN (40001, 42001...): the next access_token() asks for a fresh one."""
    credentials.drop(_key("access_token"), token)


def _access_token_issue() -> credentials.Issued:
    # POST /cgi-bin/stable_token (getStableAccessToken), not GET /cgi-bin/token: WeChat's docs
    # recommend it, and its tokens are isolated from /cgi-bin/token's, so another system using
    # the same AppID with the old endpoint cannot invalidate ours; in its normal mode a repeat
    # call returns the token in force rather than replacing it; the quota is 10,000 a minute
    # rather than 2,000 a day; and the secret travels in the body, never in a URL. force_refresh
    # is never sent: it invalidates the token every other worker uses (and is 20 a day).
    appid, secret = _account()
    path = "/cgi-bin/stable_token"
    data = _call(
        "POST",
        path,
        body={"grant_type": "client_credential", "appid": appid, "secret": secret},
    )
    issued = _issued(data, "access_token", path)
    log.info("wechat: new access_token for %s, expires in %s s", appid, issued.expires_in)
    return issued


# --- jsapi_ticket -------------------------------------------------------------------------------


def jsapi_ticket() -> str:
    """The account's JS-SDK ticket, from Redis; refreshed like the access_token."""
    return credentials.credential(
        _key("jsapi_ticket"), _jsapi_ticket_issue, lock_seconds=2 * _lock_seconds()
    )


def _jsapi_ticket_issue() -> credentials.Issued:
    token = access_token()
    try:
        data = _ticket_call(token)
    except WeChatError as exc:
        if exc.code not in TOKEN_INVALID:
            raise
        # The cached token stopped working before its time (a forced refresh elsewhere, a reset
        # secret): drop it (unless already replaced) and try once more with a fresh one.
        log.warning("wechat: access_token refused (%s); retrying with a fresh one", exc.code)
        access_token_invalidate(token)
        data = _ticket_call(access_token())
    return _issued(data, "ticket", "/cgi-bin/ticket/getticket")


def _ticket_call(token: str) -> dict[str, Any]:
    return _call(
        "GET", "/cgi-bin/ticket/getticket", params={"access_token": token, "type": "jsapi"}
    )


# --- OAuth2 web authorisation (snsapi_base: silent, gives the openid) ---------------------------


@dataclass(frozen=True)
class OAuthIdentity:
    """Who opened the page, for this official account."""

    openid: str
    # Returned only when the account is bound to an Open Platform account (and, per WeChat's
    # docs, mostly with snsapi_userinfo): None is the usual case for snsapi_base.
    unionid: str | None = None
    # is_snapshotuser: a virtual openid WeChat gives a visitor of a Moments "snapshot" page who
    # has not opened the real page; no order or fan should be tied to it.
    snapshot: bool = False


def oauth_authorize_url(redirect_uri: str, state: str) -> str:
    """Where to send the buyer so WeChat comes back to REDIRECT_URI?code=…&state=STATE."""
    if not _STATE.fullmatch(state):
        raise ValueError("state must be 1-128 characters a-z, A-Z, 0-9 (WeChat's rule)")
    appid, _ = _account()
    query = urlencode(
        {
            "appid": appid,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        },
        quote_via=quote,
    )
    # The parameters must come in this order and the fragment must be there, or WeChat shows
    # an error page instead of redirecting.
    return f"{settings.WECHAT_OPEN_BASE}/connect/oauth2/authorize?{query}#wechat_redirect"


def oauth_code_exchange(code: str) -> OAuthIdentity:
    """The identity behind an OAuth CODE (valid 5 minutes, once). OAuthCodeInvalid when spent."""
    appid, secret = _account()
    if not code:  # a visitor who refused or tampered with the redirect: no call needed
        raise OAuthCodeInvalid(41008, "missing code")
    path = "/sns/oauth2/access_token"
    try:
        # The documented request is a GET with the secret in its query: _call and the urllib3
        # log filter (apps.py) keep it out of exceptions and logs.
        data = _call(
            "GET",
            path,
            params={
                "appid": appid,
                "secret": secret,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
    except WeChatError as exc:
        if exc.code in OAUTH_CODE_INVALID:
            raise OAuthCodeInvalid(exc.code, exc.errmsg) from None
        raise
    # The web access_token in the answer is dropped: with snsapi_base it reads nothing more.
    openid = data.get("openid")
    if not isinstance(openid, str) or not openid:
        raise WeChatUnavailable(f"{path}: no openid in the answer")
    unionid = data.get("unionid")
    return OAuthIdentity(
        openid=openid,
        unionid=unionid if isinstance(unionid, str) and unionid else None,
        snapshot=data.get("is_snapshotuser") == 1,
    )
