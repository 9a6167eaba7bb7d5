"""A stand-in for "the next release adds a migration": a harmless table in each shop schema."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cms", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE TABLE cms_deploy_probe (id integer)", "DROP TABLE cms_deploy_probe"
        )
    ]
