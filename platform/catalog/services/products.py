"""Products and their SKUs as suppliers write them, and staff curation (suspend, feature).

A supplier edits a product only while it is a draft or sent back for changes; once approved,
changes go through vetting again (prices: catalog.services.prices, images:
catalog.services.images).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..limits import WEIGHT_MAX_G
from ..models import SKU, Category, Product, ReturnPolicy, ShippingTemplate, Supplier
from .common import (
    audit_record,
    bounded,
    require_editable,
    require_owner,
    rich_text_clean,
    text_clean,
)
from .prices import PriceTerms, price_terms_check
from .stock import stock_parse


def _product_fields_check(
    *,
    supplier: Supplier,
    category: Category,
    shipping_template: ShippingTemplate,
    weight_g: Any,
    return_policy: str,
) -> int:
    if shipping_template.supplier_id != supplier.pk:
        raise ValidationError({"shipping_template": _("Choose one of your shipping templates.")})
    if not category.is_active:
        raise ValidationError({"category": _("This category is closed.")})
    if return_policy not in ReturnPolicy.values:
        raise ValidationError({"return_policy": _("Choose a return policy.")})
    if isinstance(weight_g, bool) or not isinstance(weight_g, int) or weight_g <= 0:
        raise ValidationError({"weight_g": _("The weight is a whole number of grams above 0.")})
    return bounded(weight_g, field="weight_g", maximum=WEIGHT_MAX_G)


def _description_clean(description: str) -> str:
    return rich_text_clean(text_clean(description, field="description", multiline=True))


@transaction.atomic
def product_create(
    *,
    supplier: Supplier,
    actor: Any,
    category: Category,
    title: str,
    weight_g: int,
    shipping_template: ShippingTemplate,
    description: str = "",
    return_policy: str = ReturnPolicy.SEVEN_DAY,
) -> Product:
    weight_g = _product_fields_check(
        supplier=supplier,
        category=category,
        shipping_template=shipping_template,
        weight_g=weight_g,
        return_policy=return_policy,
    )
    title = text_clean(title, field="title", max_length=200)
    if not title:
        raise ValidationError({"title": _("Give the product a title.")})
    product = Product.objects.create(
        supplier=supplier,
        category=category,
        title=title,
        description=_description_clean(description),
        weight_g=weight_g,
        shipping_template=shipping_template,
        return_policy=return_policy,
    )
    audit_record(actor=actor, action="product.create", supplier=supplier, product=product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    supplier: Supplier,
    actor: Any,
    category: Category,
    title: str,
    weight_g: int,
    shipping_template: ShippingTemplate,
    description: str,
    return_policy: str,
) -> Product:
    require_owner(product=product, supplier=supplier)
    product = Product.objects.select_for_update().get(pk=product.pk)
    require_editable(product)
    product.weight_g = _product_fields_check(
        supplier=supplier,
        category=category,
        shipping_template=shipping_template,
        weight_g=weight_g,
        return_policy=return_policy,
    )
    title = text_clean(title, field="title", max_length=200)
    if not title:
        raise ValidationError({"title": _("Give the product a title.")})
    product.category = category
    product.title = title
    product.shipping_template = shipping_template
    product.description = _description_clean(description)
    product.return_policy = return_policy
    product.save()
    audit_record(actor=actor, action="product.update", supplier=supplier, product=product)
    return product


@transaction.atomic
def sku_create(
    *,
    product: Product,
    supplier: Supplier,
    actor: Any,
    code: str,
    terms: PriceTerms,
    options: Mapping[str, str] | None = None,
    stock: Any = 0,
) -> SKU:
    require_owner(product=product, supplier=supplier)
    require_editable(product)
    clean = price_terms_check(terms)
    stock_value = stock_parse(stock)
    code = text_clean(code, field="code", max_length=64)
    if not code:
        raise ValidationError({"code": _("Give the SKU a code.")})
    if SKU.objects.filter(product=product, code=code).exists():
        raise ValidationError({"code": _("This product already has a SKU with this code.")})
    clean_options = {
        text_clean(str(k), field="options"): text_clean(str(v), field="options")
        for k, v in (options or {}).items()
    }
    sku = SKU.objects.create(
        product=product, code=code, options=clean_options, stock=stock_value, **clean.__dict__
    )
    audit_record(
        actor=actor, action="sku.create", supplier=supplier, product=product, detail={"sku": code}
    )
    return sku


@transaction.atomic
def sku_terms_update(*, sku: SKU, supplier: Supplier, actor: Any, terms: PriceTerms) -> SKU:
    """Edit price terms directly: only before the product is approved (see price changes)."""
    require_owner(product=sku.product, supplier=supplier)
    require_editable(sku.product)
    clean = price_terms_check(terms)
    SKU.objects.filter(pk=sku.pk).update(**clean.__dict__, updated_at=timezone.now())
    sku.refresh_from_db()
    audit_record(
        actor=actor,
        action="sku.terms_update",
        supplier=supplier,
        product=sku.product,
        detail={"sku": sku.code, **clean.__dict__},
    )
    return sku


@transaction.atomic
def product_set_active(
    *, product: Product, supplier: Supplier, actor: Any, is_active: bool
) -> Product:
    """The supplier discontinues (or resumes) a product; it is never deleted."""
    require_owner(product=product, supplier=supplier)
    Product.objects.filter(pk=product.pk).update(is_active=is_active, updated_at=timezone.now())
    product.refresh_from_db()
    audit_record(
        actor=actor,
        action="product.activate" if is_active else "product.deactivate",
        supplier=supplier,
        product=product,
    )
    return product


# --- curation (staff) ---------------------------------------------------------------------------


@transaction.atomic
def product_suspend(*, product: Product, actor: Any, reason: str) -> Product:
    """Hide a product from new listings; shops' existing listings show it as unavailable."""
    reason = text_clean(reason, field="reason")
    if not reason:
        raise ValidationError({"reason": _("Say why the product is suspended.")})
    Product.objects.filter(pk=product.pk).update(
        is_suspended=True, suspended_reason=reason[:300], updated_at=timezone.now()
    )
    product.refresh_from_db()
    audit_record(
        actor=actor,
        action="product.suspend",
        supplier=product.supplier,
        product=product,
        detail={"reason": reason},
    )
    return product


@transaction.atomic
def product_unsuspend(*, product: Product, actor: Any) -> Product:
    Product.objects.filter(pk=product.pk).update(
        is_suspended=False, suspended_reason="", updated_at=timezone.now()
    )
    product.refresh_from_db()
    audit_record(
        actor=actor, action="product.unsuspend", supplier=product.supplier, product=product
    )
    return product


@transaction.atomic
def product_set_featured(*, product: Product, actor: Any, is_featured: bool) -> Product:
    Product.objects.filter(pk=product.pk).update(is_featured=is_featured, updated_at=timezone.now())
    product.refresh_from_db()
    audit_record(
        actor=actor,
        action="product.feature" if is_featured else "product.unfeature",
        supplier=product.supplier,
        product=product,
    )
    return product
