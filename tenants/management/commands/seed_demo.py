from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context, tenant_context

from cms.models import HomePage
from tenants.models import Tenant
from tenants.services import schema_name_for, shop_create, shop_host

DEMO_PASSWORD = "vstore-demo"  # noqa: S105 - demo data on the developer's own machine
DEMO_SHOPS = [
    ("yuer", "育儿妈妈的小店", "<p>三个孩子的妈妈，分享亲测好物。</p>"),
    ("chufang", "小厨房 Little Kitchen", "<p>家常菜谱与厨房好物。</p>"),
]


class Command(BaseCommand):
    help = "Seed the demo: platform staff login and two creator shops. Safe to run again."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        with schema_context("public"):
            if not User.objects.filter(username="staff").exists():
                User.objects.create_superuser("staff", "staff@vstore.localhost", DEMO_PASSWORD)
        for subdomain, name, intro in DEMO_SHOPS:
            tenant = Tenant.objects.filter(schema_name=schema_name_for(subdomain)).first()
            created = tenant is None
            if tenant is None:
                tenant = shop_create(name=name, subdomain=subdomain)
                self.stdout.write(f"  created shop {shop_host(subdomain)}")
            with tenant_context(tenant):
                if created:
                    HomePage.objects.update(intro=intro)
                if not User.objects.filter(username="creator").exists():
                    User.objects.create_superuser(
                        "creator", f"creator@{subdomain}.localhost", DEMO_PASSWORD
                    )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
