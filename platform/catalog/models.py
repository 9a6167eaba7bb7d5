"""The shared supplier catalog. Public schema.

Suppliers offer products; each product has SKUs (its variants) carrying the price terms and the
one stock number every shop sells from. Staff vet suppliers and products; every decision is kept
as a history row. Shops point at SKUs from their own schema (storefront.Listing), so catalog rows
are never hard-deleted: they are deactivated or suspended instead (`on_delete=PROTECT` throughout).

Money is an integer number of fen (CNY minor units), never a float.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

CURRENCY = "CNY"


class Supplier(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending review")
        APPROVED = "approved", _("approved")
        SUSPENDED = "suspended", _("suspended")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supplier"
    )
    company_name = models.CharField(_("company name"), max_length=200)
    # 统一社会信用代码: 18 characters on every Chinese business licence since 2015.
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    contact_name = models.CharField(_("contact person"), max_length=100)
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    address = models.CharField(_("address"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["company_name"]

    def __str__(self) -> str:
        return self.company_name


class SupplierStatusChange(models.Model):
    """One staff decision on a supplier: the history of its status."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Supplier.Status.choices)
    to_status = models.CharField(max_length=20, choices=Supplier.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("supplier status change")
        verbose_name_plural = _("supplier status changes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.supplier_id}: {self.from_status} → {self.to_status}"


def supplier_document_path(instance: SupplierDocument, filename: str) -> str:
    # Licences and certificates are private: a random name keeps the stored key unguessable
    # (media buckets may be public-read); people reach the file only through the portal's and
    # the console's checked views. The original name stays in `title`.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"catalog/suppliers/{instance.supplier_id}/documents/{uuid.uuid4().hex}{suffix}"


class SupplierDocument(models.Model):
    class Kind(models.TextChoices):
        BUSINESS_LICENCE = "business_licence", _("business licence")
        PRODUCT_CERTIFICATE = "product_certificate", _("product certificate")
        OTHER = "other", _("other qualification")

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # A certificate may be about one product (a CCC mark, a food licence) or the whole company.
    product = models.ForeignKey(
        "Product", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(upload_to=supplier_document_path, max_length=300)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Withdrawn documents stay for the record (a reviewer may have approved on their strength).
    is_withdrawn = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("supplier document")
        verbose_name_plural = _("supplier documents")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Category(models.Model):
    """A node of the category tree (adjacency list: the tree is small and read whole)."""

    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="catalog_category_unique_name_in_parent"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="catalog_category_unique_root_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ShippingTemplate(models.Model):
    """How much delivery costs from this supplier, by region of the buyer."""

    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="shipping_templates"
    )
    name = models.CharField(_("name"), max_length=100)
    # Fee for regions no rule names; None means those regions are not delivered to.
    default_fee_fen = models.PositiveIntegerField(_("default fee (fen)"), null=True, blank=True)
    free_over_fen = models.PositiveIntegerField(
        _("free delivery from order value (fen)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("shipping template")
        verbose_name_plural = _("shipping templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ShippingRule(models.Model):
    template = models.ForeignKey(ShippingTemplate, on_delete=models.CASCADE, related_name="rules")
    regions = ArrayField(models.CharField(max_length=20), verbose_name=_("regions"))
    first_kg_fee_fen = models.PositiveIntegerField(_("fee for the first kg (fen)"))
    extra_kg_fee_fen = models.PositiveIntegerField(_("fee per extra kg (fen)"), default=0)

    class Meta:
        verbose_name = _("shipping rule")
        verbose_name_plural = _("shipping rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return ", ".join(self.regions)


class ReturnPolicy(models.TextChoices):
    # 消费者权益保护法 art. 25: seven days without reason, except custom-made, fresh and
    # perishable, digital goods downloaded or unsealed, and newspapers/periodicals delivered.
    SEVEN_DAY = "seven_day", _("7-day return without reason")
    CUSTOM_MADE = "custom_made", _("no reason-free return: custom-made")
    PERISHABLE = "perishable", _("no reason-free return: fresh or perishable")
    DIGITAL = "digital", _("no reason-free return: digital goods once unsealed")
    PERIODICAL = "periodical", _("no reason-free return: newspapers and periodicals")


class Product(models.Model):
    class Vetting(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        IN_REVIEW = "in_review", _("in review")
        APPROVED = "approved", _("approved")
        CHANGES_REQUESTED = "changes_requested", _("changes requested")
        REJECTED = "rejected", _("rejected")

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(_("title"), max_length=200)
    # Sanitised HTML (catalog.services.rich_text_clean); never rendered unsanitised.
    description = models.TextField(_("description"), blank=True)
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    shipping_template = models.ForeignKey(
        ShippingTemplate, on_delete=models.PROTECT, related_name="products"
    )
    return_policy = models.CharField(
        _("return policy"),
        max_length=20,
        choices=ReturnPolicy.choices,
        default=ReturnPolicy.SEVEN_DAY,
    )
    vetting_status = models.CharField(
        _("vetting status"), max_length=20, choices=Vetting.choices, default=Vetting.DRAFT
    )
    # The supplier's switch (discontinued goods); staff suspension is separate and wins.
    is_active = models.BooleanField(_("active"), default=True)
    is_suspended = models.BooleanField(_("suspended"), default=False)
    suspended_reason = models.CharField(_("suspension reason"), max_length=300, blank=True)
    is_featured = models.BooleanField(_("featured"), default=False)
    # Aggregates of the shops' reviews, kept here so the catalog can sort and filter by rating.
    rating_count = models.PositiveIntegerField(default=0)
    rating_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def rating(self) -> float | None:
        return round(self.rating_total / self.rating_count, 1) if self.rating_count else None

    @property
    def is_listable(self) -> bool:
        """Whether creators may offer it now (and whether existing listings can sell)."""
        return (
            self.vetting_status == self.Vetting.APPROVED
            and self.is_active
            and not self.is_suspended
            and self.supplier.status == Supplier.Status.APPROVED
        )


def product_image_path(instance: ProductImage, filename: str) -> str:
    return f"catalog/products/{instance.product_id}/images/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="images")
    file = models.FileField(upload_to=product_image_path, max_length=300)
    alt = models.CharField(_("description of the image"), max_length=200, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)
    is_hidden = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt or self.file.name or ""


class SKU(models.Model):
    """One variant of a product (e.g. 红色 / M): price terms and the shared stock."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64)
    # {"颜色": "红", "尺码": "M"}; an empty dict for a product without variants.
    options = models.JSONField(_("options"), default=dict, blank=True)
    supply_price_fen = models.PositiveIntegerField(_("supply price (fen)"))
    suggested_retail_fen = models.PositiveIntegerField(_("suggested retail price (fen)"))
    min_retail_fen = models.PositiveIntegerField(_("minimum retail price (fen)"))
    max_retail_fen = models.PositiveIntegerField(_("maximum retail price (fen)"))
    stock = models.IntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["product_id", "id"]
        constraints = [
            # The last line of defence: no code path, however concurrent, can oversell.
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_sku_stock_nonneg"),
            models.CheckConstraint(
                condition=Q(supply_price_fen__lte=F("min_retail_fen"))
                & Q(min_retail_fen__lte=F("suggested_retail_fen"))
                & Q(suggested_retail_fen__lte=F("max_retail_fen")),
                name="catalog_sku_price_bounds_ordered",
            ),
            models.UniqueConstraint(fields=["product", "code"], name="catalog_sku_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.product.title} {self.label}".strip()

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in self.options.values()) or self.code


class VettingEvent(models.Model):
    """One step of a product's vetting: who moved it from what to what, and why."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="vetting_events")
    from_status = models.CharField(max_length=20, choices=Product.Vetting.choices)
    to_status = models.CharField(max_length=20, choices=Product.Vetting.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    # {"qualifications": true, "price_sanity": true, "images": true, "claims": false}
    checklist = models.JSONField(default=dict, blank=True)
    note = models.TextField(_("note to the supplier"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("vetting event")
        verbose_name_plural = _("vetting events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.from_status} → {self.to_status}"


class PriceChange(models.Model):
    """New price terms for a SKU of an approved product; they apply only once staff approve."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="price_changes")
    supply_price_fen = models.PositiveIntegerField()
    suggested_retail_fen = models.PositiveIntegerField()
    min_retail_fen = models.PositiveIntegerField()
    max_retail_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # How many shop listings the new bounds left outside (recorded when it was approved).
    flagged_listings = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open proposal per SKU keeps "what will apply" unambiguous.
            models.UniqueConstraint(
                fields=["sku"],
                condition=Q(status="pending"),
                name="catalog_pricechange_one_pending_per_sku",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.status}"


class ImageChange(models.Model):
    """A change to an approved product's images (add, remove, reorder); it applies only once
    staff approve, like a PriceChange. Until then shops keep showing the images as they were:
    an added image waits hidden (ProductImage.is_hidden), a removed one stays shown."""

    class Kind(models.TextChoices):
        ADD = "add", _("add an image")
        REMOVE = "remove", _("remove an image")
        REORDER = "reorder", _("reorder the images")

    Status = PriceChange.Status

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="image_changes")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The image added or removed; empty for a reorder.
    image = models.ForeignKey(
        ProductImage, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    # For a reorder: the shown images' ids in their new order.
    order = ArrayField(models.PositiveIntegerField(), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PriceChange.Status.choices, default="pending"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("image change")
        verbose_name_plural = _("image changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open change per image, and one open reorder per product.
            models.UniqueConstraint(
                fields=["image"],
                condition=Q(status="pending", image__isnull=False),
                name="catalog_imagechange_one_pending_per_image",
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status="pending", kind="reorder"),
                name="catalog_imagechange_one_pending_reorder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.kind} {self.status}"


class ShopListing(models.Model):
    """Which shops list which product: the public side of storefront.Listing.

    Public tables never point into a tenant schema, so the shop's listing is named by
    (tenant, listing number). Price-term changes use it to find the shops to check.
    """

    # A dropped shop takes its registry rows with it: they only index its own (gone) listings.
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="shop_listings")
    listing_number = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shop listing")
        verbose_name_plural = _("shop listings")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "listing_number"], name="catalog_shoplisting_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.listing_number}"


class AuditEntry(models.Model):
    """Who did what in the catalog, for staff (append-only)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=50, db_index=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, null=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
