from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context, tenant_context

from catalog.demo import demo_catalog_ensure
from catalog.models import Product, Supplier
from cms.models import HomePage
from cms.starter import article_cards_add
from storefront.services import listing_create
from tenants.models import Tenant
from tenants.provisioning import ShopOwner, schema_name_for, shop_host, shop_provision

DEMO_SUPPLIERS = ("supplier1", "supplier2")  # catalog.demo's suppliers' logins
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
        self._features_seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _features_seed(self) -> None:
        """What every feature shows in the demo, in each demo shop; each seed is idempotent, so a
        second `make run` changes nothing. Orders come first: fans, coupons used, share rewards
        and the dashboard's figures build on them."""
        from billing.coupons.demo import DEMO_CODE
        from billing.coupons.demo import demo_seed as platform_coupons_seed
        from storefront.analytics.demo import demo_seed as analytics_seed
        from storefront.analytics.demo_orders import demo_orders_seed
        from storefront.coupons.demo import demo_seed as coupons_seed
        from storefront.fans.demo import demo_seed as fans_seed
        from storefront.flash.demo import flash_demo_seed
        from storefront.groupbuy.demo import groupbuy_demo_seed
        from storefront.pricedrop.demo import pricedrop_demo_seed
        from storefront.sharing_demo import demo_seed as sharing_seed

        with schema_context("public"):
            platform_coupons_seed()
        self.stdout.write(f"  platform coupon {DEMO_CODE}: ¥5 off orders of ¥30, in every shop")
        for subdomain, *_rest in DEMO_SHOPS:
            shop = Tenant.objects.get(schema_name=schema_name_for(subdomain))
            started = time.monotonic()
            made = demo_orders_seed(shop=shop)
            for seed in (analytics_seed, coupons_seed, fans_seed, sharing_seed):
                seed(shop=shop)
            # A campaign of each kind: a flash sale opening in a few minutes, a tiered group
            # buy near its next tier and a 拼团 group one member short, a price drop under way.
            for seed in (flash_demo_seed, groupbuy_demo_seed, pricedrop_demo_seed):
                seed(shop=shop)
            self.stdout.write(
                f"  {shop_host(subdomain)}: {made} demo orders, figures, coupons, fans, "
                f"a sharing reward and campaigns ({time.monotonic() - started:.1f} s)"
            )
        self._api_tokens_seed()

    def _api_tokens_seed(self) -> None:
        """The open API's demo tokens (the README's curl examples use them as written). Fixed
        and guessable, so made only under DEBUG (make run), never in production."""
        if not settings.DEBUG:
            return
        from billing.supplierapi.demo import demo_seed as supplier_token_seed
        from storefront.shopapi.demo import demo_seed as shop_token_seed

        for subdomain, *_rest in DEMO_SHOPS:
            shop = Tenant.objects.get(schema_name=schema_name_for(subdomain))
            token = shop_token_seed(shop=shop)
            self.stdout.write(f"  open API token of {shop_host(subdomain)}: {token}")
        with schema_context("public"):
            for supplier in Supplier.objects.filter(user__username__in=DEMO_SUPPLIERS):
                token = supplier_token_seed(supplier=supplier)
                self.stdout.write(f"  open API token of {supplier.user.username}: {token}")
