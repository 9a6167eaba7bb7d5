"""The demo's shop token (make run prints it; the README's curl examples use it as written).

A fixed, guessable token is fine for a demo on a developer's machine and nowhere else, so it is
refused outside DEBUG.
"""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import tenant_context

from core.api_keys import SHOP_PREFIX, token_digest

from .models import ShopToken
from .services import SHOP_SCOPES


def demo_token(shop) -> str:
    return f"{SHOP_PREFIX}demo_{shop.schema_name}"


def demo_seed(*, shop) -> str:
    """Give SHOP a token with every scope; idempotent; returns the token to print."""
    if not settings.DEBUG:
        raise RuntimeError("demo tokens are for DEBUG only")
    plain = demo_token(shop)
    with tenant_context(shop):
        ShopToken.objects.get_or_create(
            digest=token_digest(plain),
            defaults={"name": "demo", "hint": plain[:8], "scopes": list(SHOP_SCOPES)},
        )
    return plain
