"""Keeping the AppSecret out of messages, exceptions and logs."""

from __future__ import annotations

import logging
import re

from django.conf import settings

_SECRET_PARAM = re.compile(r"(secret=)[^&\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """TEXT without the configured AppSecret and without any `secret=` query value."""
    secret = getattr(settings, "WECHAT_OA_SECRET", "")
    if secret:
        text = text.replace(secret, "***")
    return _SECRET_PARAM.sub(r"\1***", text)


class SecretRedactor(logging.Filter):
    """Rewrites a record whose message would carry the secret; every record is still emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
