"""Reviews: written by the buyer after delivery, hidden or shown by the creator.

Visible reviews feed the catalog product's aggregate (rating_count, rating_total), which the
catalog sorts and filters by; every change moves it by exactly the review's own figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from billing.fulfilment.models import SupplierOrder
from catalog.models import Product
from catalog.uploads import image_check
from core.shop import current_shop_id
from core.text import text_validate
from storefront.models import Order, Review, ReviewPhoto

MAX_PHOTOS = 3


def _aggregate_move(*, product_id: int, rating: int, sign: int) -> None:
    Product.objects.filter(pk=product_id).update(
        rating_count=F("rating_count") + sign, rating_total=F("rating_total") + sign * rating
    )


def review_create(
    *,
    order: Order,
    line_id: int,
    rating: object,
    text: str = "",
    photos: Sequence[UploadedFile] = (),
) -> Review:
    """The buyer of ORDER reviews one of its lines, once, after that line was delivered."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError(_("Give a rating from 1 to 5 stars."), code="rating")
    # The form checks this too; the service holds the rule for any other caller (a NUL was a 500).
    text = text_validate((text or "").strip(), multiline=True)
    if len(text) > 500:
        raise ValidationError(_("A review is at most 500 characters."), code="text")
    if len(photos) > MAX_PHOTOS:
        raise ValidationError(_("At most %(n)d photos.") % {"n": MAX_PHOTOS}, code="photos")
    checked = [image_check(photo) for photo in photos]
    line = order.lines.select_related("sku").filter(pk=line_id).first()
    if line is None:
        raise ValidationError(_("There is no such item in this order."), code="unknown_line")
    delivered = SupplierOrder.objects.filter(
        tenant_id=current_shop_id(),
        order_number=order.number,
        supplier_id=line.supplier_id,
        status=SupplierOrder.Status.DELIVERED,
    ).exists()
    if not delivered:
        raise ValidationError(
            _("You can review this once it has been delivered."), code="not_delivered"
        )
    try:
        with transaction.atomic():
            review = Review.objects.create(
                line=line, listing_id=line.listing_id, fan_id=order.fan_id, rating=rating, text=text
            )
            for photo, info in zip(photos, checked, strict=True):
                ReviewPhoto.objects.create(
                    review=review, image=photo, content_type=info.content_type
                )
            _aggregate_move(product_id=line.sku.product_id, rating=rating, sign=1)
    except IntegrityError as exc:
        raise ValidationError(_("You have already reviewed this."), code="duplicate") from exc
    return review


@transaction.atomic
def review_set_hidden(*, review: Review, hidden: bool) -> Review:
    """The creator hides (or shows again) a review; the catalog aggregate follows."""
    review = Review.objects.select_for_update().select_related("line__sku").get(pk=review.pk)
    if review.is_hidden == hidden:
        return review
    review.is_hidden = hidden
    review.save(update_fields=["is_hidden"])
    _aggregate_move(
        product_id=review.line.sku.product_id, rating=review.rating, sign=-1 if hidden else 1
    )
    return review
