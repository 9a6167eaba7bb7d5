from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashConfig(AppConfig):
    name = "storefront.flash"
    label = "flash"
    verbose_name = _("Flash sales")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from storefront.campaigns.registry import campaign_kind_register

        from .kind import FlashKind

        campaign_kind_register(FlashKind())
