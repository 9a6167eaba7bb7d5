"""Making shops fast: the template schema, the warm pool, and sign-up's one transaction.

A new shop is never migrated. The template schema is kept migrated and seeded; the warm pool
holds data clones of it (Tenant rows in state POOLED, so every migration run keeps them current
too); sign-up renames a pooled schema (`ALTER SCHEMA … RENAME`) and updates a few rows. With the
pool empty, sign-up clones the template itself (tenants.clone).

Every path runs in one database transaction, and PostgreSQL's DDL is transactional: a sign-up
that fails or whose process dies at any point leaves the complete shop or nothing. `repair()`
cleans up what older code or manual operations may have left half-made.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_exists, tenant_context

from core.shop import schema_set_public

from .clone import schema_clone
from .migration_state import stale_schemas
from .models import Domain, ShopEvent, Tenant
from .shop_site import shop_site

log = logging.getLogger(__name__)

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SUBDOMAIN_MIN, SUBDOMAIN_MAX = 3, 30
# Names a creator may not take: the platform's own hosts, and names that invite phishing.
RESERVED_SUBDOMAINS = frozenset(
    {
        "www",
        "admin",
        "api",
        "static",
        "media",
        "assets",
        "cdn",
        "img",
        "mail",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "ssh",
        "vpn",
        "ns",
        "ns1",
        "ns2",
        "dns",
        "console",
        "supplier",
        "suppliers",
        "staff",
        "support",
        "help",
        "about",
        "blog",
        "shop",
        "shops",
        "store",
        "stores",
        "pay",
        "payment",
        "payments",
        "billing",
        "invoice",
        "invoices",
        "account",
        "accounts",
        "login",
        "logout",
        "signup",
        "register",
        "auth",
        "oauth",
        "sso",
        "app",
        "apps",
        "m",
        "mobile",
        "wap",
        "dev",
        "test",
        "stage",
        "staging",
        "demo",
        "status",
        "health",
        "docs",
        "developer",
        "developers",
        "official",
        "vstore",
        "dav",
        "daweidian",
        "kefu",
        "service",
        "security",
        "root",
        "system",
        "null",
        "undefined",
        "template",
    }
)
POOL_PREFIX = "pool_"
SHOP_PREFIX = "shop_"


def schema_name_for(subdomain: str) -> str:
    return SHOP_PREFIX + subdomain.replace("-", "_")


def shop_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.PLATFORM_DOMAIN}"


def subdomain_check(subdomain: str, *, policy: bool = True) -> str:
    """Normalise and validate a subdomain; POLICY adds the self-service rules (length, reserved).

    Staff and the demo may hand out short names; creators signing up may not.
    """
    value = subdomain.strip().lower()
    if not SUBDOMAIN_RE.match(value) or "--" in value or len(value) > SUBDOMAIN_MAX:
        raise ValidationError(
            _(
                "Use lower-case letters a–z, digits and single hyphens, not at the start or end "
                "(at most %(max)d characters)."
            ),
            code="subdomain_charset",
            params={"max": SUBDOMAIN_MAX},
        )
    if policy and len(value) < SUBDOMAIN_MIN:
        raise ValidationError(
            _("The subdomain needs at least %(min)d characters."),
            code="subdomain_length",
            params={"min": SUBDOMAIN_MIN},
        )
    if policy and value in RESERVED_SUBDOMAINS:
        raise ValidationError(_("This subdomain is reserved."), code="subdomain_reserved")
    return value


def subdomain_taken(subdomain: str) -> bool:
    return (
        Tenant.objects.filter(schema_name=schema_name_for(subdomain)).exists()
        or Domain.objects.filter(domain=shop_host(subdomain)).exists()
    )


# --- the template -------------------------------------------------------------------------------


def template_ensure(*, verbosity: int = 0) -> Tenant:
    """Create or bring up to date the schema every new shop is cloned from.

    Safe to run again after a crash at any point: each step checks what is already there.
    """
    name = settings.VSTORE_TEMPLATE_SCHEMA
    tenant, _created = Tenant.objects.get_or_create(
        schema_name=name, defaults={"name": "Shop template", "is_template": True}
    )
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(name)}")
    if stale_schemas([name]):
        call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
    with tenant_context(tenant):
        shop_site().starter_site_ensure()
    schema_set_public()
    return tenant


def _clone_template(schema: str) -> None:
    schema_clone(source=settings.VSTORE_TEMPLATE_SCHEMA, target=schema)


# --- the warm pool ------------------------------------------------------------------------------


def pool_refill(*, size: int | None = None) -> int:
    """Top the warm pool up to SIZE schemas; returns how many were added.

    Each clone is its own transaction, so a refill cut short keeps what it finished. A session
    advisory lock keeps two refills (two beat ticks, or a tick and a sign-up's refill) from
    overshooting; the second one simply returns.
    """
    size = settings.VSTORE_POOL_SIZE if size is None else size
    template = settings.VSTORE_TEMPLATE_SCHEMA
    if stale_schemas([template]):
        template_ensure()
    added = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('vstore.pool_refill'))")
        if not cursor.fetchone()[0]:
            return 0
        try:
            # Pooled schemas that missed a migration are brought up to date before new ones.
            pooled = list(
                Tenant.objects.filter(state=Tenant.State.POOLED).values_list(
                    "schema_name", flat=True
                )
            )
            for schema in stale_schemas(pooled):
                call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
            while Tenant.objects.filter(state=Tenant.State.POOLED).count() < size:
                schema = POOL_PREFIX + secrets.token_hex(6)
                with transaction.atomic():
                    _clone_template(schema)
                    Tenant.objects.create(schema_name=schema, name="", state=Tenant.State.POOLED)
                added += 1
        finally:
            schema_set_public()
            cursor.execute("SELECT pg_advisory_unlock(hashtext('vstore.pool_refill'))")
    return added


def _pool_take() -> Tenant | None:
    """Lock one pooled, fully migrated schema for this transaction, or None if there is none.

    SKIP LOCKED lets concurrent sign-ups take different schemas without waiting on each other.
    """
    candidates = list(
        Tenant.objects.select_for_update(skip_locked=True)
        .filter(state=Tenant.State.POOLED)
        .order_by("pk")[:5]
    )
    stale = set(stale_schemas([t.schema_name for t in candidates]))
    return next((t for t in candidates if t.schema_name not in stale), None)


# --- sign-up ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopOwner:
    """Who opens the shop: her platform account and the login for her shop's admin."""

    user_id: int | None = None
    username: str = ""
    email: str = ""
    mobile: str = ""
    password_hash: str = ""


def shop_provision(
    *,
    name: str,
    subdomain: str,
    owner: ShopOwner | None = None,
    theme: str = "",
    policy: bool = True,
) -> Tenant:
    """Open a live shop at SUBDOMAIN.<platform domain>, from the warm pool or a template clone.

    One transaction. Two sign-ups racing for one subdomain serialise on an advisory lock: the
    first gets the shop, the second a ValidationError saying the name is taken.
    """
    subdomain = subdomain_check(subdomain, policy=policy)
    owner = owner or ShopOwner()
    schema = schema_name_for(subdomain)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"shop:{schema}"])
            if subdomain_taken(subdomain):
                raise ValidationError(_("This subdomain is taken."), code="subdomain_taken")
            tenant = _schema_claim(schema)
            _tenant_record(tenant, name=name, subdomain=subdomain, owner=owner)
            _shop_personalise(tenant, name=name, subdomain=subdomain, owner=owner, theme=theme)
    except IntegrityError as error:
        # The advisory lock covers sign-ups; this covers a staff action racing one.
        raise ValidationError(_("This subdomain is taken."), code="subdomain_taken") from error
    finally:
        schema_set_public()
    transaction.on_commit(_pool_refill_soon)
    return tenant


def _schema_claim(schema: str) -> Tenant:
    """Give SCHEMA a migrated copy of the template: a pooled one renamed, or a fresh clone."""
    pooled = _pool_take()
    quote = connection.ops.quote_name
    if pooled is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER SCHEMA {quote(pooled.schema_name)} RENAME TO {quote(schema)}")
        Tenant.objects.filter(pk=pooled.pk).update(schema_name=schema)
        pooled.schema_name = schema
        return pooled
    log.info("warm pool empty: cloning the template for %s", schema)
    _clone_template(schema)
    return Tenant.objects.create(schema_name=schema, name="", state=Tenant.State.POOLED)


def _tenant_record(tenant: Tenant, *, name: str, subdomain: str, owner: ShopOwner) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(
        name=name,
        state=Tenant.State.ACTIVE,
        owner_id=owner.user_id,
        contact_email=owner.email,
        contact_mobile=owner.mobile,
    )
    tenant.refresh_from_db()
    Domain.objects.create(domain=shop_host(subdomain), tenant=tenant, is_primary=True)
    ShopEvent.objects.create(
        tenant=tenant,
        schema_name=tenant.schema_name,
        shop_name=name,
        action=ShopEvent.Action.CREATED,
        actor_id=owner.user_id,
    )


def _shop_personalise(
    tenant: Tenant, *, name: str, subdomain: str, owner: ShopOwner, theme: str
) -> None:
    with tenant_context(tenant):
        shop_site().shop_personalise(
            site_name=name,
            hostname=shop_host(subdomain),
            port=settings.VSTORE_SHOP_PORT,
            theme=theme,
            admin_username=owner.username,
            admin_email=owner.email,
            admin_password_hash=owner.password_hash,
        )


def _pool_refill_soon() -> None:
    from .tasks import pool_refill_task

    try:
        pool_refill_task.delay()
    except Exception:  # the broker being down must not fail a sign-up; beat refills anyway
        log.warning("could not queue a warm-pool refill", exc_info=True)


# --- repair -------------------------------------------------------------------------------------


@dataclass
class RepairReport:
    dropped_schemas: list[str]
    removed_rows: list[str]
    shops_without_schema: list[str]


def repair() -> RepairReport:
    """Make Tenant rows and schemas agree after a crash in code that was not transactional.

    Schemas named like shops or pool entries with no Tenant row are dropped; pool rows without a
    schema are removed. A live shop whose schema is gone is reported, never deleted: its orders
    and payouts are still referenced from the public schema and need a person to look.
    """
    report = RepairReport([], [], [])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'shop\\_%%' "
            "OR nspname LIKE 'pool\\_%%'"
        )
        schemas = {row[0] for row in cursor.fetchall()} - {settings.VSTORE_TEMPLATE_SCHEMA}
    known = dict(Tenant.objects.values_list("schema_name", "state"))
    for schema in sorted(schemas - known.keys()):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(schema)} CASCADE")
        report.dropped_schemas.append(schema)
    for schema, state in sorted(known.items()):
        if schema in schemas or schema == "public" or schema_exists(schema):
            continue
        if state == Tenant.State.POOLED:
            Tenant.objects.filter(schema_name=schema).delete()
            report.removed_rows.append(schema)
        else:
            log.error("shop %s has no schema", schema)
            report.shops_without_schema.append(schema)
    return report
