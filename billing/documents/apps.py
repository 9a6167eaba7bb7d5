from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """PDF statements and invoices (WeasyPrint), stored through the project's storage."""

    name = "billing.documents"
    label = "documents"
    verbose_name = _("Statements and invoices")
    default_auto_field = "django.db.models.BigAutoField"
