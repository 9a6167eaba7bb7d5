"""Reads about shops (public schema)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet
from django_tenants.utils import get_public_schema_name

from .models import Tenant

SHOP_STATES = [Tenant.State.ACTIVE, Tenant.State.SUSPENDED]


def shops() -> QuerySet[Tenant]:
    """The live shops: every schema that holds a real shop's data, in a stable order.

    Not the platform itself (schema public: no shop tables at all), not the template, not the
    warm pool (copies of the template nobody owns). Suspended shops are included: their unpaid
    orders still hold stock everyone sells, and their books still settle. Every loop over shops
    (beat sweeps, per-shop tasks, the console) starts here, so none of them visits a schema
    without shop tables again.
    """
    return (
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .exclude(schema_name=settings.VSTORE_TEMPLATE_SCHEMA)
        .filter(is_template=False, state__in=SHOP_STATES)
        .order_by("pk")
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
