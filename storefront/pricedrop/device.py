"""The device cookie a price drop's visitor is told apart by when she is not signed in
(counting.py's rules): a random token, kept a year, never anything about her."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from django.http import HttpResponse

DEVICE_COOKIE = "vs_dev"
DEVICE = re.compile(r"[A-Za-z0-9_-]{22}\Z")
DEVICE_SECONDS = 365 * 86400


def device_of(cookies: Mapping[str, str]) -> tuple[str, bool]:
    """This browser's device token (from its cookie, or a new one) and whether it is new."""
    token = cookies.get(DEVICE_COOKIE, "")
    if DEVICE.match(token):
        return token, False
    return secrets.token_urlsafe(16), True


def device_remember(response: HttpResponse, token: str, new: bool) -> HttpResponse:
    if new:
        response.set_cookie(
            DEVICE_COOKIE, token, max_age=DEVICE_SECONDS, httponly=True, samesite="Lax"
        )
    return response
