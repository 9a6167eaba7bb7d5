"""The share link a visitor came through, remembered in a signed cookie for her checkout.

A visit through a link used to write it into the session, so every new visitor cost a session
row (a lookup and an insert in PostgreSQL) before the redirect: the price drop's share endpoint
spent most of its time there. A signed cookie costs nothing to keep; it is host-only (a shop's
own host) and signed per shop, so one shop never reads another's, and a visitor cannot name a
link she did not come through. Sessions written before it are still read.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.shop import current_shop_id

from .services import SESSION_SHARE

SHARE_COOKIE = "vs_share"
SHARE_SALT = "storefront.sharing.cookie"
SHARE_SECONDS = 30 * 86400  # a link still counts for an order placed within a month
_CODE = re.compile(r"[A-Za-z0-9]{1,32}\Z")


def _salt(shop_id: int | None = None) -> str:
    # Another shop's cookie does not verify here.
    return f"{SHARE_SALT}:{current_shop_id() if shop_id is None else shop_id}"


def share_code_remember(
    response: HttpResponse, code: str, *, shop_id: int | None = None
) -> HttpResponse:
    """RESPONSE carries CODE (a share link's code) as the visitor's link for her checkout, in
    the current shop or SHOP_ID's (the share edge runs outside any tenant)."""
    response.set_signed_cookie(
        SHARE_COOKIE,
        code,
        salt=_salt(shop_id),
        max_age=SHARE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


def share_code_of(request: HttpRequest) -> str:
    """The code of the share link this visitor came through last, or ""."""
    code = request.COOKIES.get(SHARE_COOKIE) and request.get_signed_cookie(
        SHARE_COOKIE, default="", salt=_salt(), max_age=SHARE_SECONDS
    )
    if not code:
        code = request.session.get(SESSION_SHARE, "")
    return code if isinstance(code, str) and _CODE.match(code) else ""
