from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import platform_ensure, template_ensure


class Command(BaseCommand):
    help = "Migrate every schema, then make sure the platform tenant and the shop template exist."

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        self.stdout.write("Migrating the public schema and every shop…")
        call_command("migrate_schemas", interactive=False, verbosity=max(verbosity - 1, 0))
        platform_ensure()
        self.stdout.write("Preparing the shop template…")
        template_ensure(verbosity=max(verbosity - 1, 0))
        self.stdout.write(self.style.SUCCESS("Platform ready."))
