"""A shop's commerce. Tenant schema: each creator's rows live in her own schema."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Listing(models.Model):
    """The creator's offer of a catalog product in her shop: her title, copy and prices.

    Points at public catalog rows (tenant tables may; public tables never point back).
    """

    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    # Sanitised HTML (catalog.services.rich_text_clean).
    copy = models.TextField(_("copy"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering = ["-created_at", "-id"]
        # The shop admin's own permissions (no model of their own: checked as
        # "storefront.<codename>"). The roles in storefront.team.roles grant them; every
        # shop-admin page and menu item checks one.
        permissions = [
            ("view_orders", "Can see orders, returns and buyers' contact details"),
            ("manage_reviews", "Can hide and show reviews"),
            ("view_money", "Can see earnings, payouts, statements and supply prices"),
            ("manage_team", "Can invite people and change their roles"),
            ("manage_shop", "Can change the shop's domains"),
        ]
        constraints = [
            # One listing per catalog product: a second would compete with the first.
            models.UniqueConstraint(fields=["product"], name="storefront_listing_one_per_product")
        ]

    def __str__(self) -> str:
        return self.title


class ListingItem(models.Model):
    """One SKU in a listing, at the creator's retail price (fen)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("catalog.SKU", on_delete=models.PROTECT, related_name="+")
    retail_price_fen = models.PositiveIntegerField(_("retail price (fen)"))
    # Set when the supplier's approved new terms left this price outside the bounds; the item
    # cannot sell until the creator sets a price inside them.
    price_flagged = models.BooleanField(default=False)
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "sku"], name="storefront_item_unique_sku"),
            models.CheckConstraint(
                condition=Q(retail_price_fen__gt=0), name="storefront_item_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}/{self.sku_id}: {self.retail_price_fen}"

    @property
    def in_bounds(self) -> bool:
        return self.sku.min_retail_fen <= self.retail_price_fen <= self.sku.max_retail_fen

    @property
    def margin_fen(self) -> int:
        return self.retail_price_fen - self.sku.supply_price_fen

    @property
    def availability(self) -> str:
        """Live: read from the catalog each time, so a suspension shows at once in every shop."""
        product = self.sku.product
        if not self.listing.is_active:
            return "withdrawn"
        if not product.is_listable or not self.sku.is_active:
            return "unavailable"
        if not self.in_bounds:
            return "price_out_of_bounds"
        if self.sku.stock <= 0:
            return "sold_out"
        return "available"

    @property
    def is_available(self) -> bool:
        return self.availability == "available"


# The models of the sub-apps (orders, fans, sharing, reviews) keep the app label "storefront" and
# their tables: Django registers a model with the app whose package holds its module, and it must
# be imported from here to be registered at start-up. Moving them to apps of their own would rename
# every table in every shop schema for no gain.
from .fans.models import Fan  # noqa: E402
from .orders.models import Cart, CartLine, Order, OrderLine  # noqa: E402
from .reviews.models import Review, ReviewPhoto  # noqa: E402
from .sharing.models import ShareLink  # noqa: E402

__all__ = [
    "Cart",
    "CartLine",
    "Fan",
    "Listing",
    "ListingItem",
    "Order",
    "OrderLine",
    "Review",
    "ReviewPhoto",
    "ShareLink",
]
