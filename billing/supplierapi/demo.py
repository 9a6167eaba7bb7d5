"""The demo's supplier token (make run prints it; the README's curl examples use it as written).
A fixed, guessable token: DEBUG only."""

from __future__ import annotations

from django.conf import settings

from catalog.models import Supplier
from core.api_keys import SUPPLIER_PREFIX, token_digest

from .models import SupplierToken
from .services import SUPPLIER_SCOPES


def demo_token(supplier: Supplier) -> str:
    return f"{SUPPLIER_PREFIX}demo_{supplier.user.username}"


def demo_seed(*, supplier: Supplier) -> str:
    """Give SUPPLIER a token with every scope; idempotent; returns the token to print."""
    if not settings.DEBUG:
        raise RuntimeError("demo tokens are for DEBUG only")
    plain = demo_token(supplier)
    SupplierToken.objects.get_or_create(
        digest=token_digest(plain),
        defaults={
            "supplier": supplier,
            "name": "demo",
            "hint": plain[:8],
            "scopes": list(SUPPLIER_SCOPES),
        },
    )
    return plain
