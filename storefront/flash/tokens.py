"""The signed per-sale token a buyer's page presents with every 抢购 press.

Only a page loaded after the sale opened gets one (views.py issues it to a signed-in fan, on the
sale page or from its token endpoint when the countdown ends), so a bot cannot prepare presses
before the start. The token names the shop's schema, the sale, the fan and an expiry, and is an
HMAC of them under a key derived from SECRET_KEY: the lean buy endpoint (edge.py) checks it with
no database and no session, in a few microseconds.

    <schema>.<sale id>.<fan id>.<expires, epoch s>.<signature>

django.core.signing would do the same with more work per request (base64 JSON, compression
checks); this format has only ASCII fields that cannot contain the separator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

SALT = "vstore.flash.grab-token"
# A schema name as django-tenants allows it (lower-case letters, digits, underscores).
_TOKEN = re.compile(
    r"([a-z0-9_]{1,63})\.(\d{1,12})\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{22,43})\Z"
)


class TokenInvalid(ValueError):
    """Forged, for another shop or sale, or expired: the press is refused."""


@dataclass(frozen=True)
class GrabToken:
    schema: str
    sale_id: int
    fan_id: int
    expires: int


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(f"{SALT}:{secret}".encode()).digest()


def _signature(payload: str) -> str:
    digest = hmac.new(_key(settings.SECRET_KEY), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def grab_token_make(*, schema: str, sale_id: int, fan_id: int, expires: int) -> str:
    """A token for FAN_ID to press 抢购 in SALE_ID of SCHEMA until EXPIRES (epoch seconds)."""
    payload = f"{schema}.{sale_id}.{fan_id}.{int(expires)}"
    return f"{payload}.{_signature(payload)}"


def grab_token_read(
    token: str, *, schema: str, sale_id: int | None = None, now: float | None = None
) -> GrabToken:
    """The token's fields if it is ours, for SCHEMA (and SALE_ID when given) and not expired;
    TokenInvalid otherwise (the same error for every reason: nothing to probe)."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise TokenInvalid("malformed")
    t_schema, t_sale, t_fan, t_exp, sig = match.groups()
    if not hmac.compare_digest(sig, _signature(f"{t_schema}.{t_sale}.{t_fan}.{t_exp}")):
        raise TokenInvalid("signature")
    parsed = GrabToken(schema=t_schema, sale_id=int(t_sale), fan_id=int(t_fan), expires=int(t_exp))
    if parsed.schema != schema or (sale_id is not None and parsed.sale_id != sale_id):
        raise TokenInvalid("elsewhere")
    if parsed.expires <= (time.time() if now is None else now):
        raise TokenInvalid("expired")
    return parsed
