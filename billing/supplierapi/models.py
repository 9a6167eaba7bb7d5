"""The open API's rows: tokens, webhook subscriptions, deliveries, idempotency records.

The abstract bases are shared with the shops' API (storefront.shopapi), whose concrete rows live
in each shop's schema; the supplier's concrete rows here live in the public schema.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiTokenBase(models.Model):
    objects: models.Manager[Any] = models.Manager()
    name = models.CharField(_("name"), max_length=80)
    # The first characters of the token, to tell tokens apart in lists (never enough to use).
    hint = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)  # core.api_keys.token_digest
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class WebhookBase(models.Model):
    objects: models.Manager[Any] = models.Manager()
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(default=list)
    # Signs every delivery (core.webhook_sign); shown to its owner, who needs it to verify.
    secret = models.CharField(max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    # Failed attempts in a row (any delivery); a success sets it back to 0.
    failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.url


class DeliveryBase(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SUCCEEDED = "succeeded", _("delivered")
        FAILED = "failed", _("failed")

    objects: models.Manager[Any] = models.Manager()
    event = models.CharField(max_length=40)
    event_id = models.CharField(max_length=64)  # the same for every subscription of one event
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"


class IdempotencyBase(models.Model):
    objects: models.Manager[Any] = models.Manager()
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.key


class SupplierToken(ApiTokenBase):
    supplier = models.ForeignKey(
        "catalog.Supplier", on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class SupplierWebhook(WebhookBase):
    supplier = models.ForeignKey(
        "catalog.Supplier", on_delete=models.CASCADE, related_name="webhooks"
    )


class SupplierDelivery(DeliveryBase):
    webhook = models.ForeignKey(
        SupplierWebhook, on_delete=models.CASCADE, related_name="deliveries"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_id"], name="supplierapi_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["webhook", "-created_at"])]


class SupplierIdempotency(IdempotencyBase):
    token = models.ForeignKey(SupplierToken, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="supplierapi_idempotency_key")
        ]
