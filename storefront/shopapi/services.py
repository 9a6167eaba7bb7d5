"""Writes of a shop's API access: tokens and webhook subscriptions (in the shop's schema).
Only the shop's owners reach these (the admin pages check; the API's webhooks scope is given
by an owner)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.supplierapi.machinery import (
    SHOP_EVENTS,
    events_clean,
    scopes_clean,
    webhook_resume,
    webhook_secret_new,
)
from billing.supplierapi.services import name_clean, webhook_url_clean
from core.api_keys import SHOP_PREFIX, token_new

from .models import ShopDelivery, ShopToken, ShopWebhook

# Areas of the creator API; "contacts:read" adds buyers' names, phones, e-mails and addresses
# to orders and fans (PIPL: only when the owner decides a program needs them).
SHOP_SCOPES = (
    "listings:read",
    "listings:write",
    "orders:read",
    "contacts:read",
    "coupons:read",
    "coupons:write",
    "campaigns:read",
    "campaigns:write",
    "fans:read",
    "analytics:read",
    "webhooks:write",
)
TOKENS_MAX = 20
WEBHOOKS_MAX = 10


@transaction.atomic
def shop_token_create(
    *, name: Any, scopes: Iterable[Any], actor: Any = None
) -> tuple[ShopToken, str]:
    """A new token of the current shop; returns it with its plain text (shown once)."""
    name = name_clean(name)
    chosen = scopes_clean(scopes, allowed=SHOP_SCOPES)
    if ShopToken.objects.filter(revoked_at__isnull=True).count() >= TOKENS_MAX:
        raise ValidationError(_("At most %(n)d tokens; revoke one first.") % {"n": TOKENS_MAX})
    plain, digest = token_new(prefix=SHOP_PREFIX)
    token = ShopToken.objects.create(
        name=name,
        scopes=chosen,
        digest=digest,
        hint=plain[:8],
        created_by_id=getattr(actor, "pk", None),
    )
    return token, plain


def shop_token_revoke(*, token: ShopToken) -> ShopToken:
    ShopToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


@transaction.atomic
def shop_webhook_create(*, url: Any, events: Iterable[Any]) -> ShopWebhook:
    url = webhook_url_clean(url)
    chosen = events_clean(events, allowed=SHOP_EVENTS)
    if ShopWebhook.objects.count() >= WEBHOOKS_MAX:
        raise ValidationError(_("At most %(n)d webhooks; delete one first.") % {"n": WEBHOOKS_MAX})
    return ShopWebhook.objects.create(url=url, events=chosen, secret=webhook_secret_new())


def shop_webhook_delete(*, webhook: ShopWebhook) -> None:
    webhook.delete()


def shop_webhook_resume(*, webhook: ShopWebhook) -> ShopWebhook:
    webhook_resume(webhook)
    return webhook


def shop_delivery_resend(*, delivery: ShopDelivery) -> None:
    """Send a delivery again now, by hand (also a failed one, also to a paused subscription)."""
    from .tasks import shop_delivery_send_task

    transaction.on_commit(
        partial(shop_delivery_send_task.delay, delivery_id=delivery.pk, manual=True)
    )
