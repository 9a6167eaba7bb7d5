"""tenants.clone makes the same schema django-tenants' clone_schema makes, rows included."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context

from tenants.clone import schema_clone

pytestmark = pytest.mark.django_db

TEMPLATE = "template_shop"


def catalog(schema: str) -> dict[str, object]:
    """Everything about SCHEMA that migrations and the ORM depend on, with the name masked."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "a.attidentity, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY 1, a.attnum",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1, 2",
            [schema],
        )
        constraints = cursor.fetchall()
        # Compared by structure: PostgreSQL may print an equivalent predicate differently.
        cursor.execute(
            "SELECT ci.relname, ct.relname, i.indisunique, i.indclass::text, "
            "(SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey) "
            "WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = k.attnum), "
            "i.indpred IS NOT NULL, am.amname FROM pg_index i "
            "JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid "
            "JOIN pg_am am ON am.oid = ci.relam JOIN pg_namespace n ON n.oid = ci.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1",
            [schema],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND relkind = 'r' ORDER BY 1",
            [schema],
        )
        tables = [r[0] for r in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            counts[table] = cursor.fetchone()[0]
    mask = [tuple(str(v).replace(f"{schema}.", "S.") for v in row) for row in constraints]
    return {"columns": columns, "constraints": mask, "indexes": indexes, "rows": counts}


def test_clone_is_the_template_again_names_and_rows_included(shops):
    schema_clone(source=TEMPLATE, target="shop_fast_clone")

    template = catalog(TEMPLATE)
    clone = catalog("shop_fast_clone")

    assert clone == template
    assert clone["rows"]["django_migrations"] > 100
    assert clone["rows"]["wagtailcore_page"] >= 5


def test_clone_keeps_constraint_names_that_django_tenants_clone_renames(shops):
    # Later migrations drop constraints by the names Django gave them; clone_schema renames
    # unique constraints to PostgreSQL's defaults, tenants.clone keeps them.
    connection.set_schema_to_public()
    CloneSchema().clone_schema(TEMPLATE, "shop_reference_clone", "DATA")
    schema_clone(source=TEMPLATE, target="shop_fast_clone")

    reference = catalog("shop_reference_clone")
    fast = catalog("shop_fast_clone")
    template = catalog(TEMPLATE)

    assert fast["columns"] == reference["columns"]
    assert fast["rows"] == reference["rows"]
    assert fast["constraints"] == template["constraints"]
    assert reference["constraints"] != template["constraints"]


def test_cloned_identity_sequences_continue_after_the_copied_rows(shops):
    schema_clone(source=TEMPLATE, target="shop_seq_clone")

    with schema_context("shop_seq_clone"):
        from wagtail.models import Page

        highest = max(Page.objects.values_list("pk", flat=True))
        home = Page.objects.get(depth=2)
        child = home.add_child(instance=Page(title="New page", slug="new-page"))

    assert child.pk > highest


def test_clone_leaves_the_template_untouched(shops):
    before = catalog(TEMPLATE)

    schema_clone(source=TEMPLATE, target="shop_side_effect")

    assert catalog(TEMPLATE) == before
