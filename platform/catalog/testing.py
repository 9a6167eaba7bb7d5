"""Builders for tests and the demo: real rows made through the services, never raw inserts."""

from __future__ import annotations

import io
import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from .models import SKU, Category, Product, ShippingTemplate, Supplier
from .services.images import product_image_add
from .services.prices import PriceTerms
from .services.products import product_create, sku_create
from .services.suppliers import (
    RuleSpec,
    category_create,
    shipping_template_create,
    supplier_register,
    supplier_status_set,
)
from .services.vetting import CHECKLIST_ITEMS, product_approve, product_review_start, product_submit

_seq = itertools.count(1)
PASSWORD = "pw-catalog-123456"  # noqa: S105 (test-only password)


def png_upload(name: str = "photo.png", size: tuple[int, int] = (8, 8)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def pdf_upload(name: str = "licence.pdf") -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def user_make(*, staff: bool = False, username: str | None = None) -> Any:
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username, password=PASSWORD, is_staff=staff)


def staff_make() -> Any:
    return user_make(staff=True, username=f"staff{next(_seq)}")


def supplier_make(*, approved: bool = True, name: str | None = None) -> Supplier:
    n = next(_seq)
    user = user_make(username=f"supplier{n}")
    supplier = supplier_register(
        user=user,
        company_name=name or f"供应商{n}有限公司",
        credit_code=f"91330100{n:010d}",
        contact_name="王经理",
        contact_phone="13800000000",
    )
    if approved:
        supplier = supplier_status_set(
            supplier=supplier, to_status=Supplier.Status.APPROVED, actor=staff_make()
        )
    return supplier


def category_make(*, name: str | None = None, parent: Category | None = None) -> Category:
    return category_create(name=name or f"类目{next(_seq)}", parent=parent, actor=staff_make())


def shipping_make(*, supplier: Supplier) -> ShippingTemplate:
    return shipping_template_create(
        supplier=supplier,
        name="默认运费",
        actor=supplier.user,
        rules=[RuleSpec(regions=["新疆", "西藏"], first_kg_fee_fen=2000, extra_kg_fee_fen=1000)],
        default_fee_fen=0,
    )


def terms(
    supply: int = 5000, suggested: int = 8900, low: int = 6000, high: int = 12000
) -> PriceTerms:
    return PriceTerms(
        supply_price_fen=supply,
        suggested_retail_fen=suggested,
        min_retail_fen=low,
        max_retail_fen=high,
    )


def product_make(
    *,
    supplier: Supplier | None = None,
    category: Category | None = None,
    title: str | None = None,
    status: str = Product.Vetting.APPROVED,
    skus: int = 2,
    stock: int = 10,
    price_terms: PriceTerms | None = None,
) -> Product:
    """A product with SKUS variants and an image, taken through vetting up to STATUS."""
    supplier = supplier or supplier_make()
    product = product_create(
        supplier=supplier,
        actor=supplier.user,
        category=category or category_make(),
        title=title or f"商品{next(_seq)}",
        weight_g=500,
        shipping_template=shipping_make(supplier=supplier),
        description="<p>好物</p>",
    )
    sizes = ["S", "M", "L", "XL"]
    for i in range(skus):
        sku_create(
            product=product,
            supplier=supplier,
            actor=supplier.user,
            code=f"SKU-{product.pk}-{i}",
            options={"尺码": sizes[i % 4]},
            terms=price_terms or terms(),
            stock=stock,
        )
    product_image_add(product=product, supplier=supplier, actor=supplier.user, file=png_upload())
    path = [
        Product.Vetting.SUBMITTED,
        Product.Vetting.IN_REVIEW,
        Product.Vetting.APPROVED,
    ]
    if status == Product.Vetting.DRAFT:
        return product
    staff = staff_make()
    for step in path:
        if step == Product.Vetting.SUBMITTED:
            product = product_submit(product=product, supplier=supplier, actor=supplier.user)
        elif step == Product.Vetting.IN_REVIEW:
            product = product_review_start(product=product, actor=staff)
        elif step == Product.Vetting.APPROVED:
            product = product_approve(
                product=product,
                actor=staff,
                checklist=dict.fromkeys(CHECKLIST_ITEMS, True),
            )
        if product.vetting_status == status:
            break
    return product


def first_sku(product: Product) -> SKU:
    return product.skus.order_by("id").first()  # type: ignore[return-value]
