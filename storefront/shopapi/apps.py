from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopApiConfig(AppConfig):
    name = "storefront.shopapi"
    label = "shopapi"
    verbose_name = _("Shop API")
    default_auto_field = "django.db.models.BigAutoField"
