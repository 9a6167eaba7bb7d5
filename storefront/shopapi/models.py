"""The shop's API rows (in the shop's schema): tokens, webhooks, deliveries, idempotency."""

from __future__ import annotations

from django.db import models

from billing.supplierapi.models import ApiTokenBase, DeliveryBase, IdempotencyBase, WebhookBase


class ShopToken(ApiTokenBase):
    # The shop's admin user who made it (a plain id: users live in this schema but may go).
    created_by_id = models.BigIntegerField(null=True, blank=True)


class ShopWebhook(WebhookBase):
    pass


class ShopDelivery(DeliveryBase):
    webhook = models.ForeignKey(ShopWebhook, on_delete=models.CASCADE, related_name="deliveries")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_id"], name="shopapi_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["webhook", "-created_at"])]


class ShopIdempotency(IdempotencyBase):
    token = models.ForeignKey(ShopToken, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="shopapi_idempotency_key")
        ]
