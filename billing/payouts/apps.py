from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    """Payout batches to creators and suppliers, staff approval, the payout providers."""

    name = "billing.payouts"
    label = "payouts"
    verbose_name = _("Payouts")
    default_auto_field = "django.db.models.BigAutoField"
