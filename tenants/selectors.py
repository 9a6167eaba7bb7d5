"""Reads about shops (public schema)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_tenants.utils import get_public_schema_name

from .models import Tenant

SHOP_STATES = [Tenant.State.ACTIVE, Tenant.State.SUSPENDED]


def shops() -> QuerySet[Tenant]:
    """Real shops: not the platform itself, the template or the warm pool."""
    return Tenant.objects.exclude(schema_name=get_public_schema_name()).filter(
        is_template=False, state__in=SHOP_STATES
    )


def shop_search(*, query: str = "", state: str = "") -> QuerySet[Tenant]:
    found = shops().select_related("owner").prefetch_related("domains")
    if state in SHOP_STATES:
        found = found.filter(state=state)
    if query:
        found = found.filter(
            Q(name__icontains=query)
            | Q(schema_name__icontains=query)
            | Q(domains__domain__icontains=query)
            | Q(contact_email__icontains=query)
            | Q(contact_mobile__icontains=query)
        ).distinct()
    return found.order_by("-created_at", "-pk")


def shop_counts() -> dict[str, int]:
    return {"total": shops().count()}
