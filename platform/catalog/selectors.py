"""Reads of the shared catalog. Public schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
)
from django.db.models.functions import Cast, NullIf
from django.shortcuts import get_object_or_404

from .models import (
    SKU,
    AuditEntry,
    Category,
    ImageChange,
    PriceChange,
    Product,
    ProductImage,
    ShippingTemplate,
    Supplier,
    SupplierDocument,
)


def listable_products() -> QuerySet[Product]:
    """What creators may add to a shop now: approved, active, not suspended, supplier approved."""
    return Product.objects.filter(
        vetting_status=Product.Vetting.APPROVED,
        is_active=True,
        is_suspended=False,
        supplier__status=Supplier.Status.APPROVED,
    )


def category_tree(*, active_only: bool = False) -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children, in display order."""
    rows = list(Category.objects.all())
    if active_only:
        rows = [c for c in rows if c.is_active]
    children: dict[int | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for c in children.get(parent_id, []):
            out.append((c, depth))
            walk(c.pk, depth + 1)

    walk(None, 0)
    return out


def category_with_descendants(category_id: int) -> list[int]:
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    ids = []
    for pk in parents:
        node: int | None = pk
        while node is not None:
            if node == category_id:
                ids.append(pk)
                break
            node = parents.get(node)
    return ids


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    category_id: int | None = None
    supplier_id: int | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    min_margin_fen: int | None = None
    min_rating: float | None = None
    order: str = "featured"


CATALOG_ORDERS: dict[str, list[Any]] = {
    "featured": ["-is_featured", "-approved_at", "-id"],
    "newest": ["-approved_at", "-id"],
    "price": ["price_from", "id"],
    "margin": ["-best_margin", "id"],
    "rating": [F("rating_avg").desc(nulls_last=True), "id"],
}


def catalog_browse(filters: CatalogFilters) -> QuerySet[Product]:
    """The approved catalog as creators search it, with price and margin per product.

    Prices are the suggested retail prices; margin is suggested retail minus supply price,
    the most a creator earns per unit at the supplier's suggestion.
    """
    skus = Q(skus__is_active=True)
    qs = (
        listable_products()
        .select_related("supplier", "category")
        .annotate(
            price_from=Min("skus__suggested_retail_fen", filter=skus),
            supply_from=Min("skus__supply_price_fen", filter=skus),
            best_margin=Max(
                ExpressionWrapper(
                    F("skus__suggested_retail_fen") - F("skus__supply_price_fen"),
                    output_field=IntegerField(),
                ),
                filter=skus,
            ),
            skus_in_stock=Count("skus", filter=skus & Q(skus__stock__gt=0)),
            rating_avg=ExpressionWrapper(
                Cast("rating_total", FloatField()) / NullIf(F("rating_count"), 0),
                output_field=FloatField(),
            ),
        )
        .filter(price_from__isnull=False)
    )
    if filters.q:
        qs = qs.filter(
            Q(title__icontains=filters.q)
            | Q(supplier__company_name__icontains=filters.q)
            | Q(skus__code__iexact=filters.q)
        ).distinct()
    if filters.category_id:
        qs = qs.filter(category_id__in=category_with_descendants(filters.category_id))
    if filters.supplier_id:
        qs = qs.filter(supplier_id=filters.supplier_id)
    if filters.min_price_fen is not None:
        qs = qs.filter(price_from__gte=filters.min_price_fen)
    if filters.max_price_fen is not None:
        qs = qs.filter(price_from__lte=filters.max_price_fen)
    if filters.min_margin_fen is not None:
        qs = qs.filter(best_margin__gte=filters.min_margin_fen)
    if filters.min_rating is not None:
        qs = qs.filter(rating_count__gt=0, rating_total__gte=filters.min_rating * F("rating_count"))
    return qs.order_by(*CATALOG_ORDERS.get(filters.order, CATALOG_ORDERS["featured"]))


def listable_product_get(*, pk: int) -> Product:
    return get_object_or_404(listable_products().select_related("supplier", "category"), pk=pk)


def listable_suppliers() -> QuerySet[Supplier]:
    return Supplier.objects.filter(
        status=Supplier.Status.APPROVED, products__in=listable_products()
    ).distinct()


# --- a supplier's own rows: every query starts from the supplier, so others' ids give 404 ------


def supplier_products(*, supplier: Supplier) -> QuerySet[Product]:
    return (
        Product.objects.filter(supplier=supplier)
        .select_related("category")
        .annotate(sku_count=Count("skus"))
    )


def supplier_product_get(*, supplier: Supplier, pk: int) -> Product:
    return get_object_or_404(Product.objects.filter(supplier=supplier), pk=pk)


def supplier_sku_get(*, supplier: Supplier, pk: int) -> SKU:
    return get_object_or_404(
        SKU.objects.filter(product__supplier=supplier).select_related("product"), pk=pk
    )


def supplier_skus(*, supplier: Supplier) -> QuerySet[SKU]:
    return (
        SKU.objects.filter(product__supplier=supplier)
        .select_related("product")
        .order_by("product_id", "id")
    )


def supplier_documents(*, supplier: Supplier) -> QuerySet[SupplierDocument]:
    return SupplierDocument.objects.filter(supplier=supplier).select_related("product")


def supplier_document_get(*, supplier: Supplier, pk: int) -> SupplierDocument:
    return get_object_or_404(SupplierDocument.objects.filter(supplier=supplier), pk=pk)


def supplier_shipping_templates(*, supplier: Supplier) -> QuerySet[ShippingTemplate]:
    return ShippingTemplate.objects.filter(supplier=supplier).prefetch_related("rules")


# --- staff --------------------------------------------------------------------------------------


def vetting_queue(
    *,
    status: str = "",
    supplier_id: int | None = None,
    category_id: int | None = None,
    q: str = "",
) -> QuerySet[Product]:
    """Products waiting for staff, oldest submission first (first come, first reviewed)."""
    qs = Product.objects.select_related("supplier", "category")
    if status:
        qs = qs.filter(vetting_status=status)
    else:
        qs = qs.filter(vetting_status__in=[Product.Vetting.SUBMITTED, Product.Vetting.IN_REVIEW])
    if supplier_id:
        qs = qs.filter(supplier_id=supplier_id)
    if category_id:
        qs = qs.filter(category_id__in=category_with_descendants(category_id))
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(supplier__company_name__icontains=q))
    return qs.order_by(F("submitted_at").asc(nulls_last=True), "id")


def pending_price_changes() -> QuerySet[PriceChange]:
    return (
        PriceChange.objects.filter(status=PriceChange.Status.PENDING)
        .select_related("sku__product__supplier", "requested_by")
        .order_by("created_at", "id")
    )


def pending_image_changes() -> QuerySet[ImageChange]:
    """Image changes to approved products waiting for staff, oldest first."""
    return (
        ImageChange.objects.filter(status=ImageChange.Status.PENDING)
        .select_related("product__supplier", "image", "requested_by")
        .order_by("created_at", "id")
    )


def shown_images(product: Product) -> QuerySet[ProductImage]:
    """The images shops show for PRODUCT, cover first: never one waiting for review."""
    return product.images.filter(is_hidden=False).order_by("position", "id")


def audit_entries(
    *, action: str = "", supplier_id: int | None = None, actor: str = ""
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor", "supplier", "product")
    if action:
        qs = qs.filter(action__startswith=action)
    if supplier_id:
        qs = qs.filter(supplier_id=supplier_id)
    if actor:
        qs = qs.filter(actor__username=actor)
    return qs


def shipping_fee_fen(
    *, template: ShippingTemplate, region: str, weight_g: int, order_value_fen: int = 0
) -> int | None:
    """The delivery fee to REGION for WEIGHT_G grams; None where the template does not deliver."""
    if template.free_over_fen is not None and order_value_fen >= template.free_over_fen:
        return 0
    extra_kg = max(0, -(-weight_g // 1000) - 1)  # started kilograms after the first
    for rule in template.rules.all():
        if region in rule.regions:
            return rule.first_kg_fee_fen + extra_kg * rule.extra_kg_fee_fen
    return template.default_fee_fen
