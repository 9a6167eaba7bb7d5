from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformCouponsConfig(AppConfig):
    """Platform-funded coupons and their budgets (public schema); staff run them in the console."""

    name = "billing.coupons"
    label = "platform_coupons"
    verbose_name = _("Platform coupons")
    default_auto_field = "django.db.models.BigAutoField"
