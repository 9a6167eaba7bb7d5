from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name

from tenants.migration_state import stale_schemas
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Deploy-time migration: the public schema, then only the shop schemas (template and warm "
        "pool included) that miss a migration, reporting progress."
    )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        started = time.perf_counter()
        call_command(
            "migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0)
        )
        schemas = list(
            Tenant.objects.exclude(schema_name=get_public_schema_name())
            .order_by("-is_template", "pk")  # the template first: new shops clone it
            .values_list("schema_name", flat=True)
        )
        stale = stale_schemas(schemas)
        say = self.stdout.write if verbosity >= 1 else (lambda _message: None)
        say(
            f"{len(schemas)} shop schemas: {len(schemas) - len(stale)} up to date, "
            f"{len(stale)} to migrate"
        )
        for done, schema in enumerate(stale, 1):
            call_command(
                "migrate_schemas",
                schema_name=schema,
                interactive=False,
                verbosity=max(verbosity - 1, 0),
            )
            say(f"{done}/{len(stale)} shops migrated ({schema})")
        say(f"Done in {time.perf_counter() - started:.1f} s.")
