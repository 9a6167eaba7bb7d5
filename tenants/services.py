"""Writes about existing shops: suspension, export, deletion and custom domains.

Making shops lives in tenants.provisioning.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from core.text import text_validate

from .dns import TxtResolver, txt_resolver
from .models import Domain, DomainClaim, ShopEvent, Tenant
from .provisioning import shop_provision
from .shop_site import shop_site

if TYPE_CHECKING:
    # AUTH_USER_MODEL is Django's own: the type get_user_model() returns, and ShopEvent.actor's.
    from django.contrib.auth.models import User

HOSTNAME_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Tables an export leaves out: derived (search index, permissions) or private (sessions).
EXPORT_EXCLUDE = [
    "contenttypes",
    "auth.permission",
    "sessions",
    "admin.logentry",
    "wagtailsearch",
    "wagtailcore.referenceindex",
    "wagtailcore.pagelogentry",
    "wagtailcore.modellogentry",
]


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
    """A shop made by staff, the demo or the tests: short and reserved names allowed.

    The name is checked like the sign-up form's (core.text): it goes into mail subjects."""
    return shop_provision(name=text_validate(name.strip()), subdomain=subdomain, policy=False)


def _event(tenant: Tenant, action: str, actor: User | None, **detail: object) -> ShopEvent:
    return ShopEvent.objects.create(
        tenant=tenant,
        schema_name=tenant.schema_name,
        shop_name=tenant.name,
        action=action,
        actor=actor,
        detail=detail,
    )


# --- suspension ---------------------------------------------------------------------------------


@transaction.atomic
def shop_suspend(*, tenant: Tenant, actor: User, reason: str) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.state != Tenant.State.ACTIVE:
        raise ValidationError(_("Only an active shop can be suspended."), code="state")
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the shop is suspended."), code="reason")
    tenant.state = Tenant.State.SUSPENDED
    tenant.suspension_reason = reason[:200]
    tenant.save(update_fields=["state", "suspension_reason"])
    _event(tenant, ShopEvent.Action.SUSPENDED, actor, reason=tenant.suspension_reason)
    return tenant


@transaction.atomic
def shop_resume(*, tenant: Tenant, actor: User) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.state != Tenant.State.SUSPENDED:
        raise ValidationError(_("Only a suspended shop can be resumed."), code="state")
    tenant.state = Tenant.State.ACTIVE
    tenant.suspension_reason = ""
    tenant.save(update_fields=["state", "suspension_reason"])
    _event(tenant, ShopEvent.Action.RESUMED, actor)
    return tenant


# --- export and deletion ------------------------------------------------------------------------


def shop_export(*, tenant: Tenant, actor: User | None) -> str:
    """Dump the shop's schema as JSON into storage; returns the stored file's name."""
    buffer = io.StringIO()
    with tenant_context(tenant):
        call_command(
            "dumpdata",
            exclude=EXPORT_EXCLUDE,
            natural_foreign=True,
            indent=1,
            stdout=buffer,
        )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    with schema_context(get_public_schema_name()):
        name = default_storage.save(
            f"exports/{tenant.schema_name}-{stamp}.json",
            ContentFile(buffer.getvalue().encode("utf-8")),
        )
        _event(tenant, ShopEvent.Action.EXPORTED, actor, file=name)
    return name


def shop_delete(*, tenant: Tenant, actor: User, confirm_name: str) -> str:
    """Export the shop, then drop its schema and rows; returns the export's file name.

    CONFIRM_NAME must repeat the shop's name exactly: deleting a shop cannot be undone.
    """
    if tenant.is_template or tenant.schema_name == get_public_schema_name():
        raise ValidationError(_("This schema cannot be deleted."), code="protected")
    if confirm_name.strip() != tenant.name:
        raise ValidationError(
            _("Type the shop's name exactly to confirm deletion."), code="confirm"
        )
    export = shop_export(tenant=tenant, actor=actor)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
            _event(tenant, ShopEvent.Action.DELETED, actor, export=export)
            with connection.cursor() as cursor:
                # Deferred FK checks queued earlier in this transaction would block the DROP.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(
                    f"DROP SCHEMA {connection.ops.quote_name(tenant.schema_name)} CASCADE"
                )
            tenant.delete()
    except ProtectedError as error:
        # Payments and other money records name the shop and must be kept for the accounts;
        # the whole deletion, schema drop included, has been rolled back.
        raise ValidationError(
            _("This shop has payment records the platform must keep; suspend it instead."),
            code="protected",
        ) from error
    return export


# --- custom domains -----------------------------------------------------------------------------


def domain_claim_add(*, tenant: Tenant, domain: str, actor: User | None) -> DomainClaim:
    """Start adding the creator's own DOMAIN: it routes only once verified."""
    value = domain.strip().lower().rstrip(".")
    value = value.removeprefix("http://").removeprefix("https://").split("/")[0]
    if not HOSTNAME_RE.match(value):
        raise ValidationError(_("Enter a domain name such as shop.example.com."), code="domain")
    platform = settings.PLATFORM_DOMAIN
    if value == platform or value.endswith("." + platform):
        raise ValidationError(_("Use a domain of your own, not the platform's."), code="platform")
    if Domain.objects.filter(domain=value).exists():
        raise ValidationError(_("This domain is already in use."), code="taken")
    if DomainClaim.objects.filter(tenant=tenant, domain=value).exists():
        raise ValidationError(_("You have added this domain already."), code="duplicate")
    claim = DomainClaim.objects.create(tenant=tenant, domain=value)
    _event(tenant, ShopEvent.Action.DOMAIN_ADDED, actor, domain=value)
    return claim


@transaction.atomic
def domain_claim_verify(
    *,
    claim: DomainClaim,
    actor: User | None,
    resolver: TxtResolver | None = None,
    by_hand: bool = False,
) -> bool:
    """Verify CLAIM by its TXT record (or BY_HAND, for staff); on success the domain routes."""
    claim = DomainClaim.objects.select_for_update().select_related("tenant").get(pk=claim.pk)
    if claim.status == DomainClaim.Status.VERIFIED:
        return True
    if not by_hand:
        records = (resolver or txt_resolver()).txt_records(claim.txt_name)
        if claim.txt_value not in [r.strip() for r in records]:
            return False
    if Domain.objects.filter(domain=claim.domain).exists():
        raise ValidationError(_("This domain is already in use."), code="taken")
    Domain.objects.create(domain=claim.domain, tenant=claim.tenant, is_primary=False)
    claim.status = DomainClaim.Status.VERIFIED
    claim.verified_at = timezone.now()
    claim.verified_by = actor if by_hand else None
    claim.save(update_fields=["status", "verified_at", "verified_by"])
    _event(
        claim.tenant,
        ShopEvent.Action.DOMAIN_VERIFIED,
        actor,
        domain=claim.domain,
        how="by hand" if by_hand else "dns",
    )
    return True


@transaction.atomic
def domain_make_canonical(*, tenant: Tenant, domain: str, actor: User | None) -> None:
    """Links, canonical tags and share URLs use DOMAIN from now on; every host still answers."""
    target = Domain.objects.select_for_update().get(tenant=tenant, domain=domain)
    target.is_primary = True
    target.save()  # DomainMixin.save() clears the previous primary
    with tenant_context(tenant):
        shop_site().site_host_set(hostname=domain)
    _event(tenant, ShopEvent.Action.CANONICAL_CHANGED, actor, domain=domain)
