"""Share links of one shop (tenant schema; registered through storefront/models.py)."""

from __future__ import annotations

from django.db import models


class ShareLink(models.Model):
    """A buyer's link to a listing: visits and orders through it are attributed to her.

    Single level: the sharer may be rewarded with a coupon; nothing here ever pays cash.
    """

    code = models.CharField(max_length=16, unique=True)
    listing = models.ForeignKey("storefront.Listing", on_delete=models.CASCADE, related_name="+")
    sharer = models.ForeignKey(
        "storefront.Fan", on_delete=models.CASCADE, related_name="share_links"
    )
    visits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["listing", "sharer"], name="storefront_share_unique")
        ]

    def __str__(self) -> str:
        return self.code
