"""The demo catalog: two approved suppliers with vetted goods, made through the services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from .demo_photos import demo_photo
from .models import Category, Supplier
from .services.images import product_image_add
from .services.prices import PriceTerms
from .services.products import product_create, sku_create
from .services.suppliers import (
    RuleSpec,
    category_create,
    shipping_template_create,
    supplier_document_add,
    supplier_register,
    supplier_status_set,
)
from .services.vetting import CHECKLIST_ITEMS, product_approve, product_review_start, product_submit
from .testing import pdf_upload

DEMO_PASSWORD = "vstore-demo"  # noqa: S105 - demo data on the developer's own machine

CATEGORIES = {"母婴": ["辅食", "喂养用品"], "厨房": ["调味品", "厨具"]}

SUPPLIERS: list[dict[str, Any]] = [
    {
        "username": "supplier1",
        "company_name": "杭州小禾母婴用品有限公司",
        "credit_code": "91330106MA27DEMO1X",
        "goods": [
            ("有机高铁米粉 225g", "辅食", {"口味": ["原味", "南瓜"]}, (3200, 5900, 4500, 7900)),
            ("宽口径玻璃奶瓶 240ml", "喂养用品", {"颜色": ["粉", "蓝"]}, (4500, 8900, 6900, 11900)),
        ],
    },
    {
        "username": "supplier2",
        "company_name": "佛山好味厨房食品有限公司",
        "credit_code": "91440604MA4WDEMO2Y",
        "goods": [
            ("零添加头道生抽 500ml", "调味品", {}, (1500, 2990, 1990, 3990)),
            ("不粘煎锅 28cm", "厨具", {"款式": ["单锅", "带盖"]}, (8000, 15900, 12900, 19900)),
        ],
    },
]


def _category(name: str, parent: Category | None, actor: Any) -> Category:
    found = Category.objects.filter(name=name, parent=parent).first()
    return found or category_create(name=name, parent=parent, actor=actor)


@transaction.atomic
def demo_catalog_ensure() -> int:
    """Create the demo catalog if it is not there; returns how many suppliers were created."""
    User = get_user_model()
    staff = User.objects.filter(is_superuser=True).order_by("pk").first()
    if staff is None:
        staff = User.objects.create_superuser("staff", "staff@vstore.localhost", DEMO_PASSWORD)
    leaves: dict[str, Category] = {}
    for root_name, children in CATEGORIES.items():
        root = _category(root_name, None, staff)
        for child in children:
            leaves[child] = _category(child, root, staff)
    created = 0
    checks = dict.fromkeys(CHECKLIST_ITEMS, True)
    for spec in SUPPLIERS:
        if Supplier.objects.filter(credit_code=spec["credit_code"]).exists():
            continue
        user = User.objects.filter(username=spec["username"]).first() or User.objects.create_user(
            spec["username"], password=DEMO_PASSWORD
        )
        supplier = supplier_register(
            user=user,
            company_name=spec["company_name"],
            credit_code=spec["credit_code"],
            contact_name="王经理",
            contact_phone="13800000000",
            address="",
        )
        supplier_document_add(
            supplier=supplier,
            kind="business_licence",
            title="营业执照",
            file=pdf_upload(),
            actor=user,
        )
        supplier = supplier_status_set(supplier=supplier, to_status="approved", actor=staff)
        shipping = shipping_template_create(
            supplier=supplier,
            name="包邮（偏远地区除外）",
            actor=user,
            rules=[
                RuleSpec(regions=["新疆", "西藏"], first_kg_fee_fen=2000, extra_kg_fee_fen=1000)
            ],
            default_fee_fen=0,
        )
        for title, category, options, (supply, suggested, low, high) in spec["goods"]:
            product = product_create(
                supplier=supplier,
                actor=user,
                category=leaves[category],
                title=title,
                weight_g=600,
                shipping_template=shipping,
                description=f"<p>{title}，厂家直供，品质保证。</p>",
            )
            variants = [(k, v) for k, values in options.items() for v in values] or [("", "")]
            for i, (key, value) in enumerate(variants):
                sku_create(
                    product=product,
                    supplier=supplier,
                    actor=user,
                    code=f"{product.pk}-{i + 1}",
                    options={key: value} if key else {},
                    terms=PriceTerms(supply, suggested, low, high),
                    stock=200,
                )
            product_image_add(
                product=product, supplier=supplier, actor=user, file=demo_photo(title)
            )
            product_submit(product=product, supplier=supplier, actor=user)
            product_review_start(product=product, actor=staff)
            product_approve(product=product, actor=staff, checklist=checks)
        created += 1
    return created
