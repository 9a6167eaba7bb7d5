"""Idempotency keys of API writes (the way Stripe does it): what is the same request.

The same key with the same request answers what the first answer was; the same key with a
different request is refused (422), because the client has reused a key by mistake and must
not be told that its second, different write happened.
"""

from __future__ import annotations

import hashlib
import json
import re

HEADER = "Idempotency-Key"
# Printable ASCII, like Stripe's keys and UUIDs; stored in a column of this length.
KEY_MAX_LENGTH = 255
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}\Z")
# How long a key is remembered (a task purges older ones).
KEEP_SECONDS = 24 * 3600


def key_check(value: str | None) -> str | None:
    """The key, None when absent, or ValueError when it is not one we accept."""
    if value is None or value == "":
        return None
    if not KEY_RE.match(value):
        raise ValueError("An Idempotency-Key is 1 to 255 printable ASCII characters.")
    return value


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, the path and the body; a JSON body is compared as JSON, so
    whitespace and key order do not make the same request a different one."""
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogatepass"), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
