"""Making shops: the platform tenant, the template schema, and new shops cloned from it."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists, tenant_context

from .models import Domain, Tenant

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")


def schema_name_for(subdomain: str) -> str:
    return "shop_" + subdomain.replace("-", "_")


def shop_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.PLATFORM_DOMAIN}"


def platform_ensure() -> Tenant:
    """The public tenant: django-tenants routes the platform's own domain through it."""
    tenant, _created = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "VStore"}
    )
    Domain.objects.get_or_create(
        domain=settings.PLATFORM_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


def template_ensure(*, verbosity: int = 0) -> Tenant:
    """Create or bring up to date the schema every new shop is cloned from.

    Safe to run again after a crash at any point: each step checks what is already there.
    """
    from cms.services import starter_site_ensure

    name = settings.VSTORE_TEMPLATE_SCHEMA
    tenant, _created = Tenant.objects.get_or_create(
        schema_name=name, defaults={"name": "Shop template", "is_template": True}
    )
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
    with tenant_context(tenant):
        starter_site_ensure(site_name=tenant.name, hostname="template.invalid", port=80)
    return tenant


def shop_create(*, name: str, subdomain: str) -> Tenant:
    """Open a shop at SUBDOMAIN.<platform domain> as a data clone of the template schema.

    One transaction: the clone, the Tenant and Domain rows and the Site's host name are all there
    or none is. The template's recorded migrations are cloned with its tables, so the clone needs
    no migrate step.
    """
    subdomain = subdomain.strip().lower()
    if not SUBDOMAIN_RE.match(subdomain):
        raise ValidationError(
            _("The subdomain may use a-z, 0-9 and '-', 1 to 30 characters."), code="subdomain"
        )
    schema = schema_name_for(subdomain)
    host = shop_host(subdomain)
    if (
        Tenant.objects.filter(schema_name=schema).exists()
        or Domain.objects.filter(domain=host).exists()
    ):
        raise ValidationError(_("This subdomain is taken."), code="taken")
    template = Tenant.objects.get(schema_name=settings.VSTORE_TEMPLATE_SCHEMA)

    from cms.services import site_configure

    with transaction.atomic():
        CloneSchema().clone_schema(template.schema_name, schema, "DATA")
        tenant = Tenant.objects.create(schema_name=schema, name=name)
        Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
        with tenant_context(tenant):
            site_configure(site_name=name, hostname=host, port=settings.VSTORE_SHOP_PORT)
    connection.set_schema_to_public()
    return tenant
