"""Shops (one creator's tenant each), the host names they answer on, and what staff did to them.

Public schema.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    class State(models.TextChoices):
        # A pre-cloned, migrated schema waiting in the warm pool; no owner, no domain.
        POOLED = "pooled", _("in the warm pool")
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")

    name = models.CharField(_("shop name"), max_length=100)
    # The template schema is a Tenant row too, so migrating shops keeps it current with every
    # shop; it has no domain and therefore never answers a request. Pooled schemas likewise.
    is_template = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shops",
    )
    contact_email = models.EmailField(_("e-mail"), blank=True)
    contact_mobile = models.CharField(_("mobile number"), max_length=20, blank=True)
    suspension_reason = models.CharField(_("reason for suspension"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are made by tenants.provisioning (a pooled schema renamed, or a data clone of the
    # template, in one transaction), never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    @property
    def is_suspended(self) -> bool:
        return self.state == self.State.SUSPENDED


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


class DomainClaim(models.Model):
    """A creator's own domain, waiting for proof (a DNS TXT record) before it routes anywhere."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for verification")
        VERIFIED = "verified", _("verified")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domain_claims")
    domain = models.CharField(_("domain"), max_length=253)
    token = models.CharField(max_length=64, default=new_verification_token, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("domain claim")
        verbose_name_plural = _("domain claims")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "domain"], name="domainclaim_unique_per_shop")
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def txt_name(self) -> str:
        return f"_vstore-verify.{self.domain}"

    @property
    def txt_value(self) -> str:
        return f"vstore-verify={self.token}"


class ShopEvent(models.Model):
    """Audit trail of what happened to a shop and who did it; outlives the shop itself."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        SUSPENDED = "suspended", _("suspended")
        RESUMED = "resumed", _("resumed")
        EXPORTED = "exported", _("exported")
        DELETED = "deleted", _("deleted")
        DOMAIN_ADDED = "domain_added", _("domain added")
        DOMAIN_VERIFIED = "domain_verified", _("domain verified")
        CANONICAL_CHANGED = "canonical_changed", _("canonical host changed")

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    schema_name = models.CharField(max_length=63)
    shop_name = models.CharField(max_length=100)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shop event")
        verbose_name_plural = _("shop events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.schema_name} {self.action}"
