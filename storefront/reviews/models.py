"""Buyers' reviews of what they received (tenant schema; imported by models.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Review(models.Model):
    """One review per order line, written after delivery; the creator may hide it."""

    line = models.OneToOneField(
        "storefront.OrderLine", on_delete=models.PROTECT, related_name="review"
    )
    listing = models.ForeignKey("storefront.Listing", on_delete=models.PROTECT, related_name="+")
    fan = models.ForeignKey("storefront.Fan", on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("review"), max_length=500, blank=True)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["listing", "is_hidden"], name="storefront_review_listing")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="storefront_review_rating_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.text[:30]}"

    @property
    def buyer_name(self) -> str:
        """The buyer as other buyers see her: first character and asterisks (privacy)."""
        name = self.fan.name or self.fan.mobile or "?"
        return name[:1] + "**"


class ReviewPhoto(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    # Stored through the project's storage, which puts the shop's schema in front of the name.
    image = models.FileField(upload_to="reviews/%Y/%m/")
    content_type = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name or ""
