from __future__ import annotations

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from catalog.demo import DEMO_PASSWORD, demo_catalog_ensure


class Command(BaseCommand):
    help = "Seed the demo catalog: two approved suppliers with vetted goods. Safe to run again."

    def handle(self, *args, **options) -> None:
        with schema_context("public"):
            created = demo_catalog_ensure()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog ready ({created} suppliers created; logins supplier1 / supplier2, "
                f"password {DEMO_PASSWORD}, at /supplier/)."
            )
        )
