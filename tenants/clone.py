"""Copy the template schema into a new schema, at a cost that does not grow with the shop count.

django-tenants' `clone_schema` is a general-purpose PL/pgSQL routine that rediscovers every
object through catalog queries on each call; those queries scan catalogs that grow with every
shop (≈150 relations each), so a clone that takes 0.5 s beside 10 shops took over 10 s beside
80 in bench/provisioning.py. The template's shape only changes when it is migrated, so this
module reads it once (cached against the template's recorded migrations) and replays it:

1. tables `LIKE` the template's (columns, defaults, identity, checks, comments);
2. primary keys, unique constraints and the remaining indexes, under the template's names (later
   migrations drop and rename them by name);
3. the rows (`OVERRIDING SYSTEM VALUE`), then identity sequences moved past them;
4. foreign keys last, so step 3 needs no ordering.

Everything runs in the caller's transaction.
"""

# ruff: noqa: S608 - every identifier comes from the template's catalog and is quoted
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from core.shop import schema_set_public

_cache: dict[str, tuple[tuple[int, int], Shape]] = {}


@dataclass(frozen=True)
class Shape:
    tables: tuple[tuple[str, tuple[str, ...]], ...]  # (table, insertable columns)
    constraints: tuple[tuple[str, str, str], ...]  # (table, name, definition)
    indexes: tuple[str, ...]  # CREATE INDEX statements, schema-qualified
    identities: tuple[tuple[str, str], ...]  # (table, column)
    foreign_keys: tuple[tuple[str, str, str], ...]


def _version(schema: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {_q(schema)}.django_migrations")
        count, last = cursor.fetchone()
    return count, last


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _read_shape(schema: str) -> Shape:
    # Read from the public schema: the template's names then print qualified ("template.t"),
    # which retarget() rewrites, while references to shared tables stay as they are.
    schema_set_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "AND a.attgenerated = '' "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
            "GROUP BY c.relname ORDER BY c.relname",
            [schema],
        )
        tables = tuple((name, tuple(columns)) for name, columns in cursor.fetchall())
        cursor.execute(
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND k.contype IN ('p', 'u', 'x', 'f') "
            "ORDER BY c.relname, k.conname",
            [schema],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid",
            [schema],
        )
        indexes = tuple(row[0] for row in cursor.fetchall())
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND a.attidentity <> '' AND NOT a.attisdropped",
            [schema],
        )
        identities = tuple(cursor.fetchall())
    return Shape(
        tables=tables,
        constraints=tuple((t, name, d) for t, name, kind, d in rows if kind != "f"),
        indexes=indexes,
        identities=identities,
        foreign_keys=tuple((t, name, d) for t, name, kind, d in rows if kind == "f"),
    )


def template_shape(schema: str) -> Shape:
    version = _version(schema)
    cached = _cache.get(schema)
    if cached is None or cached[0] != version:
        cached = (version, _read_shape(schema))
        _cache[schema] = cached
    return cached[1]


def schema_clone(*, source: str, target: str) -> None:
    """Create schema TARGET as a copy of SOURCE: structure, rows and sequence positions."""
    shape = template_shape(source)
    src, dst = _q(source), _q(target)
    schema_set_public()

    def retarget(sql: str) -> str:
        return sql.replace(f"{source}.", f"{dst}.").replace(f"{src}.", f"{dst}.")

    statements = [f"CREATE SCHEMA {dst}"]
    statements += [
        f"CREATE TABLE {dst}.{_q(t)} (LIKE {src}.{_q(t)} INCLUDING DEFAULTS INCLUDING IDENTITY "
        f"INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        for t, _columns in shape.tables
    ]
    statements += [
        f"ALTER TABLE {dst}.{_q(t)} ADD CONSTRAINT {_q(name)} {retarget(d)}"
        for t, name, d in shape.constraints
    ]
    statements += [retarget(sql) for sql in shape.indexes]
    for t, columns in shape.tables:
        cols = ", ".join(_q(c) for c in columns)
        statements.append(
            f"INSERT INTO {dst}.{_q(t)} ({cols}) OVERRIDING SYSTEM VALUE "
            f"SELECT {cols} FROM {src}.{_q(t)}"
        )
    statements += [
        f"SELECT setval(pg_get_serial_sequence('{dst}.{_q(t)}', '{c}'), "
        f"coalesce(max({_q(c)}), 0) + 1, false) FROM {dst}.{_q(t)}"
        for t, c in shape.identities
    ]
    statements += [
        f"ALTER TABLE {dst}.{_q(t)} ADD CONSTRAINT {_q(name)} {retarget(d)}"
        for t, name, d in shape.foreign_keys
    ]
    with connection.cursor() as cursor:
        # One round trip: the statements are ours, built from the template's own catalog.
        cursor.execute(";\n".join(statements))
