"""A shop (one creator's tenant) and the host names it answers on. Public schema."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    name = models.CharField(_("shop name"), max_length=100)
    # The template schema is a Tenant row too, so `migrate_schemas` keeps it current with every
    # shop; it has no domain and therefore never answers a request.
    is_template = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are made by tenants.services (a data clone of the template, in one transaction),
    # never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
