"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

Every delivery carries the header

    X-VStore-Signature: t=1733050000,v1=<hex HMAC-SHA256(secret, "1733050000." + body)>

where t is the Unix time of sending and body is the exact bytes of the request body. A receiver
recomputes the HMAC over the timestamp, a dot and the raw body, compares it in constant time,
and refuses a timestamp more than five minutes away from its own clock (a replayed delivery).
The README shows the same check in a few lines of Python.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-VStore-Signature"
TOLERANCE_SECONDS = 300


def signature_make(*, secret: str, timestamp: int, body: bytes) -> str:
    """The header value for BODY sent at TIMESTAMP."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether HEADER signs BODY with SECRET and its timestamp is fresh."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature_make(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
