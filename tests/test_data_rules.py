"""The data rules Citus schema-based sharding needs (DESIGN.md, "Where data lives"), read from
PostgreSQL's own catalog so a new table or foreign key that breaks them fails here.

- A public (shared) table never points into a shop schema: each shop schema becomes a distributed
  schema on one node, and shared tables become reference tables present on every node.
- A shop schema never points into another shop's schema.
- Catalog rows are never hard-deleted (shops' rows in other schemas point at them): every catalog
  table refuses DELETE in the database itself.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError, InternalError

pytestmark = pytest.mark.django_db

FOREIGN_KEYS = """
SELECT con.conname, src_ns.nspname, src.relname, dst_ns.nspname, dst.relname
FROM pg_constraint con
JOIN pg_class src ON src.oid = con.conrelid
JOIN pg_namespace src_ns ON src_ns.oid = src.relnamespace
JOIN pg_class dst ON dst.oid = con.confrelid
JOIN pg_namespace dst_ns ON dst_ns.oid = dst.relnamespace
WHERE con.contype = 'f'
"""


def _foreign_keys() -> list[tuple[str, str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS)
        return list(cursor.fetchall())


def test_no_public_table_points_into_a_shop_schema(shops):
    keys = _foreign_keys()
    # The check must see the shops' own keys, or it proves nothing.
    assert any(src == shops.a.schema_name for _n, src, *_rest in keys)
    wrong = [k for k in keys if k[1] == "public" and k[3] != "public"]
    assert wrong == []


def test_no_shop_schema_points_into_another_shop_schema(shops):
    keys = _foreign_keys()
    wrong = [k for k in keys if k[1] != "public" and k[3] not in ("public", k[1])]
    assert wrong == []
    # Shop tables may point at shared rows (a listing's catalog product): such keys exist.
    assert any(k[1] == shops.a.schema_name and k[3] == "public" for k in keys)


def _catalog_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename LIKE 'catalog\\_%%' ORDER BY tablename"
        )
        return [row[0] for row in cursor.fetchall()]


# Catalog tables nothing outside the catalog points at, whose rows are derived and may go:
DELETABLE = {
    # which shops list a product: an index, dropped with the shop's listing or the shop
    "catalog_shoplisting",
    # a shipping template's rules are replaced as a whole when the supplier edits the template;
    # an order keeps the fee it was charged, not a pointer to the rule
    "catalog_shippingrule",
}


def test_every_catalog_table_refuses_deletes_in_the_database():
    tables = [t for t in _catalog_tables() if t not in DELETABLE]
    assert "catalog_product" in tables and "catalog_sku" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE n.nspname = 'public' AND NOT t.tgisinternal
              AND p.proname = 'catalog_refuse_delete'
              AND (t.tgtype & 8) <> 0  -- fires on DELETE
            """
        )
        guarded = {row[0] for row in cursor.fetchall()}
    assert [t for t in tables if t not in guarded] == []


def test_deleting_a_catalog_row_by_raw_sql_is_refused():
    from catalog.models import Category

    category = Category.objects.create(name="规则测试")
    with (
        pytest.raises((IntegrityError, InternalError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM catalog_category WHERE id = %s", [category.pk])
    assert Category.objects.filter(pk=category.pk).exists()


def test_every_model_change_has_its_migration():
    # A model edited without its migration (even a verbose name) makes every deploy's
    # migrate_shops report changes it cannot apply, and the next migration made by someone else
    # silently carries it.
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, verbosity=1)
    except SystemExit as exit_:
        pytest.fail(f"models changed without a migration (exit {exit_.code}):\n{out.getvalue()}")
