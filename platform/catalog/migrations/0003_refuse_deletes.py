"""Catalog rows are never hard-deleted, whatever the code path: the database refuses.

Shops' listings (in other schemas) and the money records point at these rows; a supplier or
product leaves the catalog by being suspended or deactivated instead. TRUNCATE (test teardown)
does not fire row triggers.
"""

from django.db import migrations

TABLES = [
    "catalog_supplier",
    "catalog_supplierstatuschange",
    "catalog_supplierdocument",
    "catalog_category",
    "catalog_shippingtemplate",
    "catalog_product",
    "catalog_productimage",
    "catalog_sku",
    "catalog_vettingevent",
    "catalog_pricechange",
    "catalog_auditentry",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'catalog rows are never deleted (%): suspend or deactivate instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

forwards = [FUNCTION] + [
    f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
    f"FOR EACH ROW EXECUTE FUNCTION catalog_refuse_delete();"
    for t in TABLES
]
backwards = [f"DROP TRIGGER IF EXISTS {t}_no_delete ON {t};" for t in TABLES] + [
    "DROP FUNCTION IF EXISTS catalog_refuse_delete();"
]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_shoplisting_cascade"),
    ]

    operations = [migrations.RunSQL(sql=forwards, reverse_sql=backwards)]
