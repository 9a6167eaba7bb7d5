from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.provisioning import shop_host
from tenants.services import shop_create


class Command(BaseCommand):
    help = "Open a shop at SUBDOMAIN.<platform domain>, cloned from the shop template."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain")
        parser.add_argument("--name", help="the shop's display name (default: the subdomain)")

    def handle(self, *args, **options) -> None:
        subdomain = options["subdomain"]
        started = time.perf_counter()
        try:
            tenant = shop_create(name=options["name"] or subdomain, subdomain=subdomain)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Shop {tenant.schema_name} is live at {shop_host(subdomain)} ({elapsed:.2f} s)."
            )
        )
