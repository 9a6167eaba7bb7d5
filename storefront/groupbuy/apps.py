from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupBuyConfig(AppConfig):
    name = "storefront.groupbuy"
    label = "groupbuy"
    verbose_name = _("Group buys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from storefront.campaigns.registry import campaign_kind_register

        from .kind import GroupBuyKind

        campaign_kind_register(GroupBuyKind())
