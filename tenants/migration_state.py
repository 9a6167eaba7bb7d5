"""Which tenant schemas are fully migrated, found with one cheap query per batch of schemas.

`migrate_schemas` spends ~0.24 s of Python per schema even when there is nothing to do; reading
each schema's `django_migrations` rows and comparing them with the migrations on disk takes
well under a millisecond per schema, so deploys migrate only the schemas that need it, and the
warm pool never hands out a schema that missed a migration.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

Key = tuple[str, str]


@lru_cache(maxsize=1)
def tenant_migration_plan() -> tuple[frozenset[Key], dict[Key, frozenset[Key]]]:
    """The migrations a tenant schema must have, and what each squashed one replaces."""
    from django.apps import apps

    tenant_labels = {c.label for c in apps.get_app_configs() if c.name in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    expected = frozenset(key for key in loader.graph.nodes if key[0] in tenant_labels)
    replaces = {
        key: frozenset((app, name) for app, name in migration.replaces)
        for key, migration in loader.replacements.items()
        if key in expected
    }
    return expected, replaces


def is_current(applied: set[Key]) -> bool:
    expected, replaces = tenant_migration_plan()
    for key in expected - applied:
        replaced = replaces.get(key)
        if not replaced or not replaced <= applied:
            return False
    return True


def applied_migrations(schemas: Iterable[str], batch: int = 200) -> dict[str, set[Key]]:
    """Applied migrations per schema; a schema without a migrations table maps to an empty set."""
    names = list(schemas)
    result: dict[str, set[Key]] = {name: set() for name in names}
    with connection.cursor() as cursor:
        # pg_class by (relname, relnamespace) is an index lookup; information_schema.tables
        # would scan every relation of every shop.
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [names],
        )
        present = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(present), batch):
            chunk = present[start : start + batch]
            sql = " UNION ALL ".join(
                # Schema names come from information_schema and are quoted.
                f"SELECT %s, app, name FROM {connection.ops.quote_name(s)}.django_migrations"  # noqa: S608
                for s in chunk
            )
            cursor.execute(sql, chunk)
            for schema, app, name in cursor.fetchall():
                result[schema].add((app, name))
    return result


def stale_schemas(schemas: Iterable[str]) -> list[str]:
    """The schemas among SCHEMAS that miss at least one migration."""
    return [s for s, applied in applied_migrations(schemas).items() if not is_current(applied)]
