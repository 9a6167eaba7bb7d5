"""manage.py flash_reconcile [--schema S] [--apply]: where Redis and PostgreSQL disagree about
flash sales, and what would be (with --apply: is) done about it.

Without --schema every live shop is checked (tenants.selectors.shops()). Exit status 1 when a
dry run found anything, so a script or a monitor can tell.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context


class Command(BaseCommand):
    help = "List flash sale inconsistencies between Redis and PostgreSQL; --apply repairs them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", help="only this shop's schema")
        parser.add_argument("--apply", action="store_true", help="repair what is found")

    def handle(self, *args: Any, **options: Any) -> None:
        from storefront.flash.reconcile import flash_reconcile_shop
        from tenants.selectors import shops

        tenants = shops()
        if options["schema"]:
            tenants = tenants.filter(schema_name=options["schema"])
            if not tenants.exists():
                raise CommandError(f"no live shop with schema {options['schema']!r}")
        apply = bool(options["apply"])
        total = 0
        for tenant in tenants.order_by("schema_name"):
            with tenant_context(tenant):
                found = flash_reconcile_shop(apply=apply)
            for item in found:
                verb = "done" if apply else "would"
                self.stdout.write(
                    f"{tenant.schema_name} sale {item.sale_id}: {item.problem}; "
                    f"{verb}: {item.action}"
                )
            total += len(found)
        if not total:
            self.stdout.write("flash sales: Redis and PostgreSQL agree.")
        elif not apply:
            self.stdout.write(f"{total} inconsistencies; run again with --apply to repair them.")
            raise SystemExit(1)
