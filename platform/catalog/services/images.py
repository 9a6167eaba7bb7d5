"""A product's images. While a product is a draft (or sent back) its supplier changes them at
will; once it is approved, every change (add, remove, reorder) is an ImageChange that waits for
staff, as a price change does, because an approved product's images show at once in every shop
that lists it. Until staff approve, shops keep the images as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from ..limits import IMAGES_MAX
from ..models import ImageChange, Product, ProductImage, Supplier
from ..uploads import image_check
from .common import EDITABLE_STATES, audit_record, require_editable, require_owner, text_clean

APPROVED = Product.Vetting.APPROVED


def _product_locked(*, product: Product, supplier: Supplier) -> Product:
    """The product, locked against a concurrent vetting decision, if its images may change."""
    require_owner(product=product, supplier=supplier)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.vetting_status != APPROVED:
        require_editable(product)
    return product


def _shown(product: Product) -> list[ProductImage]:
    return list(product.images.filter(is_hidden=False).order_by("position", "id"))


def _change_record(
    *, product: Product, supplier: Supplier, actor: Any, kind: str, **fields: Any
) -> ImageChange:
    try:
        with transaction.atomic():
            change = ImageChange.objects.create(
                product=product, kind=kind, requested_by=actor, **fields
            )
    except IntegrityError as exc:  # the partial unique constraints: one open change per image
        raise ValidationError(
            _("A change to this image is already waiting for review."), code="pending"
        ) from exc
    audit_record(
        actor=actor,
        action=f"image_change.request_{kind}",
        supplier=supplier,
        product=product,
        detail={"change": change.pk, "image": change.image_id, "order": change.order},
    )
    return change


@transaction.atomic
def product_image_add(
    *, product: Product, supplier: Supplier, actor: Any, file: UploadedFile, alt: str = ""
) -> ProductImage:
    """Add an image: shown at once on a draft; on an approved product it is kept hidden and
    waits for staff (the returned image's is_hidden says which)."""
    product = _product_locked(product=product, supplier=supplier)
    alt = text_clean(alt, field="alt", max_length=200)
    waiting = ImageChange.objects.filter(
        product=product, kind=ImageChange.Kind.ADD, status=ImageChange.Status.PENDING
    ).count()
    if len(_shown(product)) + waiting >= IMAGES_MAX:
        raise ValidationError(
            _("A product has at most %(n)d images.") % {"n": IMAGES_MAX}, code="too_many"
        )
    checked = image_check(file)
    needs_review = product.vetting_status == APPROVED
    top = product.images.aggregate(top=Max("position"))["top"]
    image = ProductImage(
        product=product,
        alt=alt,
        width=checked.width or 0,
        height=checked.height or 0,
        position=0 if top is None else top + 1,
        is_hidden=needs_review,
    )
    image.file.save(file.name or "image", file, save=False)
    image.save()
    if needs_review:
        _change_record(
            product=product, supplier=supplier, actor=actor, kind=ImageChange.Kind.ADD, image=image
        )
    else:
        audit_record(
            actor=actor,
            action="product.image_add",
            supplier=supplier,
            product=product,
            detail={"image": image.pk},
        )
    return image


@transaction.atomic
def product_image_hide(
    *, product: Product, supplier: Supplier, actor: Any, image_id: int
) -> ImageChange | None:
    """Take an image off (kept, like every catalog row): at once on a draft (None); on an
    approved product a change for review (returned), and the image stays until staff approve."""
    product = _product_locked(product=product, supplier=supplier)
    image = ProductImage.objects.filter(product=product, pk=image_id, is_hidden=False).first()
    if image is None:
        raise ValidationError(_("This image is not shown on the product."), code="not_shown")
    if product.vetting_status not in EDITABLE_STATES:
        if len(_shown(product)) <= 1:
            raise ValidationError(
                _("A product on sale keeps at least one image: add the new one first."),
                code="last_image",
            )
        return _change_record(
            product=product,
            supplier=supplier,
            actor=actor,
            kind=ImageChange.Kind.REMOVE,
            image=image,
        )
    image.is_hidden = True
    image.save(update_fields=["is_hidden"])
    audit_record(
        actor=actor,
        action="product.image_hide",
        supplier=supplier,
        product=product,
        detail={"image": image.pk},
    )
    return None


def _order_check(product: Product, order: Sequence[Any]) -> list[int]:
    shown = [i.pk for i in _shown(product)]
    try:
        ids = [int(i) for i in order]
    except (TypeError, ValueError) as exc:
        raise ValidationError({"order": _("Name every shown image once.")}) from exc
    if sorted(ids) != sorted(shown):
        raise ValidationError({"order": _("Name every shown image once.")}, code="bad_order")
    return ids


def _positions_set(ids: Sequence[int]) -> None:
    for position, pk in enumerate(ids):
        ProductImage.objects.filter(pk=pk).update(position=position)


@transaction.atomic
def product_images_reorder(
    *, product: Product, supplier: Supplier, actor: Any, order: Sequence[Any]
) -> ImageChange | None:
    """Put the shown images in ORDER (their ids, the first is the cover): at once on a draft
    (None), as a change for review on an approved product (returned)."""
    product = _product_locked(product=product, supplier=supplier)
    ids = _order_check(product, order)
    if product.vetting_status not in EDITABLE_STATES:
        return _change_record(
            product=product,
            supplier=supplier,
            actor=actor,
            kind=ImageChange.Kind.REORDER,
            order=ids,
        )
    _positions_set(ids)
    audit_record(
        actor=actor,
        action="product.images_reorder",
        supplier=supplier,
        product=product,
        detail={"order": ids},
    )
    return None


# --- staff --------------------------------------------------------------------------------------


def _pending_locked(change: ImageChange) -> ImageChange:
    change = (
        ImageChange.objects.select_for_update(of=("self",))
        .select_related("product__supplier", "image")
        .get(pk=change.pk)
    )
    if change.status != ImageChange.Status.PENDING:
        raise ValidationError(_("This image change was already decided."), code="decided")
    return change


def _decided(change: ImageChange, *, actor: Any, status: str, note: str = "") -> ImageChange:
    change.status = status
    change.decided_by = actor
    change.decided_at = timezone.now()
    if note:
        change.note = note
    change.save(update_fields=["status", "decided_by", "decided_at", "note"])
    audit_record(
        actor=actor,
        action=f"image_change.{status}",
        supplier=change.product.supplier,
        product=change.product,
        detail={"change": change.pk, "kind": change.kind, "note": note},
    )
    return change


@transaction.atomic
def image_change_approve(*, change: ImageChange, actor: Any) -> ImageChange:
    """Apply the change: from now on every shop shows the images this way."""
    change = _pending_locked(change)
    product = Product.objects.select_for_update().get(pk=change.product_id)
    image = change.image
    if change.kind == ImageChange.Kind.ADD and image is not None:
        top = product.images.filter(is_hidden=False).aggregate(top=Max("position"))["top"]
        ProductImage.objects.filter(pk=image.pk).update(
            is_hidden=False, position=0 if top is None else top + 1
        )
    elif change.kind == ImageChange.Kind.REMOVE and image is not None:
        if not product.images.filter(is_hidden=False).exclude(pk=image.pk).exists():
            raise ValidationError(
                _("This would leave the product without an image."), code="last_image"
            )
        ProductImage.objects.filter(pk=image.pk).update(is_hidden=True)
    elif change.kind == ImageChange.Kind.REORDER:
        try:
            ids = _order_check(product, change.order)
        except ValidationError as exc:
            raise ValidationError(
                _("The images changed since this order was proposed; reject it."),
                code="stale",
            ) from exc
        _positions_set(ids)
    return _decided(change, actor=actor, status=ImageChange.Status.APPROVED)


@transaction.atomic
def image_change_reject(*, change: ImageChange, actor: Any, note: str) -> ImageChange:
    """Refuse the change; an added image stays hidden for the record."""
    change = _pending_locked(change)
    note = text_clean(note, field="note", multiline=True)
    if not note:
        raise ValidationError({"note": _("Tell the supplier why.")})
    return _decided(change, actor=actor, status=ImageChange.Status.REJECTED, note=note)
