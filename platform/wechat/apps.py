from __future__ import annotations

import logging

from django.apps import AppConfig


class WeChatConfig(AppConfig):
    name = "wechat"
    verbose_name = "WeChat official account"

    def ready(self) -> None:
        from .redact import SecretRedactor

        # urllib3 logs every request line at DEBUG, query string included, and WeChat's OAuth
        # code exchange takes the AppSecret in its query string (documented; there is no POST
        # form). With LOG_LEVEL=DEBUG that line would print the secret, so it is redacted there.
        logging.getLogger("urllib3.connectionpool").addFilter(SecretRedactor())
