from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context, tenant_context

from catalog.demo import demo_catalog_ensure
from catalog.models import Product
from cms.models import HomePage
from cms.starter import article_cards_add
from storefront.services import listing_create
from tenants.models import Tenant
from tenants.provisioning import ShopOwner, schema_name_for, shop_host, shop_provision

DEMO_PASSWORD = "vstore-demo"  # noqa: S105 - demo data on the developer's own machine
# (subdomain, name, theme, intro, the catalog's top category whose goods the shop lists)
DEMO_SHOPS = [
    ("yuer", "育儿妈妈的小店", "blossom", "<p>三个孩子的妈妈，分享亲测好物。</p>", "母婴"),
    ("chufang", "小厨房 Little Kitchen", "meadow", "<p>家常菜谱与厨房好物。</p>", "厨房"),
]


class Command(BaseCommand):
    help = (
        "Seed the demo: platform staff, the demo catalog (two suppliers), and two creator shops "
        "with goods listed. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        password_hash = make_password(DEMO_PASSWORD)
        with schema_context("public"):
            if not User.objects.filter(username="staff").exists():
                User.objects.create_superuser("staff", "staff@vstore.localhost", DEMO_PASSWORD)
        with schema_context("public"):
            demo_catalog_ensure()
        for subdomain, name, theme, intro, category in DEMO_SHOPS:
            if Tenant.objects.filter(schema_name=schema_name_for(subdomain)).exists():
                continue
            with schema_context("public"):
                account = User.objects.create(
                    username=f"creator-{subdomain}",
                    email=f"creator@{subdomain}.localhost",
                    password=password_hash,
                )
            owner = ShopOwner(
                user_id=account.pk,
                username="creator",
                email=account.email,
                password_hash=password_hash,
            )
            tenant = shop_provision(
                name=name, subdomain=subdomain, owner=owner, theme=theme, policy=False
            )
            with tenant_context(tenant):
                HomePage.objects.update(intro=intro)
                listings = []
                for product in Product.objects.filter(category__parent__name=category):
                    if product.is_listable:
                        listings.append(
                            listing_create(
                                product=product,
                                title=product.title,
                                copy="<p>我家一直在用，推荐给大家。</p>",
                                prices={
                                    sku.pk: sku.suggested_retail_fen for sku in product.skus.all()
                                },
                            )
                        )
                # The starter article sells: a product card and a grid of the rest.
                article_cards_add(listings)
            self.stdout.write(f"  created shop {shop_host(subdomain)}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
