"""Reads about shops (public schema)."""

from __future__ import annotations

from .models import Tenant


def shop_counts() -> dict[str, int]:
    shops = Tenant.objects.exclude(schema_name="public").filter(is_template=False)
    return {"total": shops.count()}
