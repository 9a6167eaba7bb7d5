"""Django's database sessions, refusing session keys that no session of ours can have.

Django checks only a key's length before looking it up, and a quoted cookie may carry octal
escapes that Django decodes ("\\000" arrives as a NUL): such a key reached PostgreSQL, which
cannot compare text with a NUL, and the visitor got a 500 on every page. Our keys are Django's:
32 lower-case letters and digits.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        if key is None or not super()._validate_session_key(key):  # type: ignore[misc]
            return False
        return key.isascii() and key.isalnum()
