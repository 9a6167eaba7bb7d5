"""Writes of a supplier's API access: tokens and webhook subscriptions (public schema)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Supplier
from core.api_keys import SUPPLIER_PREFIX, token_new
from core.text import text_validate
from core.webhook_http import UrlRefused, url_check

from .machinery import (
    SUPPLIER_EVENTS,
    events_clean,
    scopes_clean,
    url_allow_private,
    webhook_resume,
    webhook_secret_new,
)
from .models import SupplierDelivery, SupplierToken, SupplierWebhook

# Areas of the supplier API; a token may read or write each.
SUPPLIER_SCOPES = (
    "products:read",
    "stock:write",
    "prices:write",
    "orders:read",
    "orders:write",
    "returns:read",
    "returns:write",
    "statements:read",
    "webhooks:write",
)
TOKENS_MAX = 20
WEBHOOKS_MAX = 10


def name_clean(name: Any) -> str:
    name = str(name or "").strip()
    text_validate(name)
    if not name or len(name) > 80:
        raise ValidationError({"name": [_("A name is 1 to 80 characters.")]})
    return name


def webhook_url_clean(url: Any) -> str:
    url = str(url or "").strip()
    try:
        text_validate(url)
        url_check(url, allow_private=url_allow_private())
    except (UrlRefused, ValidationError) as exc:
        raise ValidationError({"url": [str(exc.args[0]) if exc.args else _("Not a URL.")]}) from exc
    return url


@transaction.atomic
def supplier_token_create(
    *, supplier: Supplier, name: Any, scopes: Iterable[Any], actor: Any = None
) -> tuple[SupplierToken, str]:
    """A new token; returns it with its plain text, which is shown once and never stored."""
    name = name_clean(name)
    chosen = scopes_clean(scopes, allowed=SUPPLIER_SCOPES)
    if (
        SupplierToken.objects.filter(supplier=supplier, revoked_at__isnull=True).count()
        >= TOKENS_MAX
    ):
        raise ValidationError(_("At most %(n)d tokens; revoke one first.") % {"n": TOKENS_MAX})
    plain, digest = token_new(prefix=SUPPLIER_PREFIX)
    token = SupplierToken.objects.create(
        supplier=supplier,
        name=name,
        scopes=chosen,
        digest=digest,
        hint=plain[:8],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return token, plain


def supplier_token_revoke(*, token: SupplierToken) -> SupplierToken:
    SupplierToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    return token


@transaction.atomic
def supplier_webhook_create(
    *, supplier: Supplier, url: Any, events: Iterable[Any]
) -> SupplierWebhook:
    url = webhook_url_clean(url)
    chosen = events_clean(events, allowed=SUPPLIER_EVENTS)
    if SupplierWebhook.objects.filter(supplier=supplier).count() >= WEBHOOKS_MAX:
        raise ValidationError(_("At most %(n)d webhooks; delete one first.") % {"n": WEBHOOKS_MAX})
    return SupplierWebhook.objects.create(
        supplier=supplier, url=url, events=chosen, secret=webhook_secret_new()
    )


def supplier_webhook_delete(*, webhook: SupplierWebhook) -> None:
    webhook.delete()


def supplier_webhook_resume(*, webhook: SupplierWebhook) -> SupplierWebhook:
    webhook_resume(webhook)
    return webhook


def supplier_delivery_resend(*, delivery: SupplierDelivery) -> None:
    """Send a delivery again now, by hand (also a failed one, also to a paused subscription)."""
    from .tasks import supplier_delivery_send_task

    transaction.on_commit(
        partial(supplier_delivery_send_task.delay, delivery_id=delivery.pk, manual=True)
    )
