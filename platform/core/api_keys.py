"""API tokens: random secrets shown once, stored only as a keyed hash.

A token is 32 random bytes (256 bits), so a slow password hash buys nothing: nobody can guess
one, and a fast keyed hash (HMAC-SHA256 under the project's secret key) makes a stolen table
useless without the key while costing microseconds per request. The prefix names the side
("vss_" a shop, "vsp_" a supplier) so a leaked token is recognisable in logs and secret scanners.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

SHOP_PREFIX = "vss_"
SUPPLIER_PREFIX = "vsp_"
# Longest token we ever issue is 4 + 43 characters; anything much longer is not ours.
TOKEN_MAX_LENGTH = 100


def token_digest(plain: str) -> str:
    """The stored form of PLAIN: hex HMAC-SHA256 under SECRET_KEY."""
    key = ("vstore-api-token:" + settings.SECRET_KEY).encode()
    return hmac.new(key, plain.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def token_new(*, prefix: str) -> tuple[str, str]:
    """A fresh token: (the plain text to show once, its digest to store)."""
    plain = prefix + secrets.token_urlsafe(32)
    return plain, token_digest(plain)


def token_looks_valid(plain: str, *, prefix: str) -> bool:
    """Cheap check before any database read: our prefix, URL-safe characters, sane length."""
    if not plain.startswith(prefix) or len(plain) > TOKEN_MAX_LENGTH:
        return False
    body = plain[len(prefix) :]
    return bool(body) and all(c.isascii() and (c.isalnum() or c in "-_") for c in body)
