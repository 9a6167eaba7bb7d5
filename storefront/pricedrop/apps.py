"""Share price drops (降价拍): each counted share lowers the price by a fixed step."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PriceDropConfig(AppConfig):
    name = "storefront.pricedrop"
    label = "pricedrop"
    verbose_name = _("Share price drops")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from storefront.campaigns.registry import campaign_kind_register

        from .kind import PriceDropKind

        campaign_kind_register(PriceDropKind())
