from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.provisioning import pool_refill, template_ensure
from tenants.services import platform_ensure


class Command(BaseCommand):
    help = (
        "Migrate what needs it, make sure the platform tenant and the shop template exist, and "
        "fill the warm pool. Run on every deploy; a second run does nothing."
    )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        call_command("migrate_shops", verbosity=verbosity)
        platform_ensure()
        self.stdout.write("Preparing the shop template…")
        template_ensure(verbosity=max(verbosity - 1, 0))
        self.stdout.write("Filling the warm pool…")
        added = pool_refill()
        self.stdout.write(
            self.style.SUCCESS(f"Platform ready ({added} schemas added to the pool).")
        )
