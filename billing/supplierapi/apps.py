from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupplierApiConfig(AppConfig):
    name = "billing.supplierapi"
    label = "supplierapi"
    verbose_name = _("Supplier API")
    default_auto_field = "django.db.models.BigAutoField"
