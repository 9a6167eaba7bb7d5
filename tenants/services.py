"""Writes about shops other than making them (see tenants.provisioning for that)."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import get_public_schema_name

from .models import Domain, Tenant
from .provisioning import shop_provision


def platform_ensure() -> Tenant:
    """The public tenant: django-tenants routes the platform's own domain through it."""
    tenant, _created = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "VStore"}
    )
    Domain.objects.get_or_create(
        domain=settings.PLATFORM_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


def shop_create(*, name: str, subdomain: str) -> Tenant:
    """A shop made by staff, the demo or the tests: short and reserved names allowed."""
    return shop_provision(name=name, subdomain=subdomain, policy=False)
