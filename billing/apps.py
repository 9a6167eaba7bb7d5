from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from .payments import checks  # noqa: F401  (registers the deploy checks)
