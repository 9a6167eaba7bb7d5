"""Vetting: a product's path from draft to approved (or back to its supplier), the staff
checklist, and the e-mail that tells the supplier of each decision."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Product, Supplier, VettingEvent
from .common import audit_record, require_owner, text_clean

logger = logging.getLogger(__name__)

# --- vetting ------------------------------------------------------------------------------------

V = Product.Vetting
CHECKLIST_ITEMS = ("qualifications", "price_sanity", "images", "claims")
CHECKLIST_LABELS = {
    "qualifications": gettext_lazy("Qualifications checked"),
    "price_sanity": gettext_lazy("Prices are sane"),
    "images": gettext_lazy("Images are real and allowed"),
    "claims": gettext_lazy("No false or forbidden claims (广告法)"),
}

# Who may move a product where. Anything not listed is refused.
SUPPLIER_MOVES: dict[str, set[str]] = {
    V.DRAFT: {V.SUBMITTED},
    V.CHANGES_REQUESTED: {V.SUBMITTED},
}
STAFF_MOVES: dict[str, set[str]] = {
    V.SUBMITTED: {V.IN_REVIEW},
    V.IN_REVIEW: {V.APPROVED, V.CHANGES_REQUESTED, V.REJECTED},
}


def _vetting_move(
    *,
    product: Product,
    to_status: str,
    actor: Any,
    moves: Mapping[str, set[str]],
    checklist: Mapping[str, bool] | None = None,
    note: str = "",
) -> Product:
    note = text_clean(note, field="note", multiline=True)
    product = Product.objects.select_for_update().select_related("supplier").get(pk=product.pk)
    from_status = product.vetting_status
    if to_status not in moves.get(from_status, set()):
        raise ValidationError(
            _("A product cannot go from “%(a)s” to “%(b)s”.")
            % {"a": V(from_status).label, "b": V(to_status).label},
            code="illegal_transition",
        )
    product.vetting_status = to_status
    now = timezone.now()
    if to_status == V.SUBMITTED:
        product.submitted_at = now
    if to_status == V.APPROVED:
        product.approved_at = now
    product.save(update_fields=["vetting_status", "submitted_at", "approved_at", "updated_at"])
    event = VettingEvent.objects.create(
        product=product,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        checklist=dict(checklist or {}),
        note=note,
    )
    if to_status in NOTIFY_SUPPLIER:
        transaction.on_commit(lambda: _vetting_notice_enqueue(event.pk))
    audit_record(
        actor=actor,
        action=f"product.{to_status}",
        supplier=product.supplier,
        product=product,
        detail={"from": from_status, "note": note, "checklist": dict(checklist or {})},
    )
    return product


NOTIFY_SUPPLIER = {V.APPROVED, V.CHANGES_REQUESTED, V.REJECTED}


def _vetting_notice_enqueue(event_id: int) -> None:
    from ..tasks import vetting_notice_task

    try:
        vetting_notice_task.delay(event_id)
    except Exception:  # the decision is committed; a broker outage must not turn it into a 500
        logger.exception("could not queue the vetting notice for event %s", event_id)


def vetting_notice_send(*, event_id: int) -> bool:
    """E-mail the supplier a staff decision on one of its products; False if there is no one to
    tell (no e-mail address, or the event is gone)."""
    event = (
        VettingEvent.objects.select_related("product__supplier__user").filter(pk=event_id).first()
    )
    if event is None or not event.product.supplier.user.email:
        return False
    product = event.product
    subject = _("VStore: “%(title)s” is %(status)s") % {
        "title": product.title,
        "status": V(event.to_status).label,
    }
    lines = [
        _("Your product “%(title)s” (no. %(id)d) is now: %(status)s.")
        % {"title": product.title, "id": product.pk, "status": V(event.to_status).label},
    ]
    if event.note:
        lines += ["", _("Note from the reviewer:"), event.note]
    send_mail(
        subject=str(subject),
        message="\n".join(str(line) for line in lines),
        from_email=None,
        recipient_list=[product.supplier.user.email],
    )
    return True


@transaction.atomic
def product_submit(*, product: Product, supplier: Supplier, actor: Any) -> Product:
    require_owner(product=product, supplier=supplier)
    if supplier.status != Supplier.Status.APPROVED:
        raise ValidationError(
            _("Your supplier account must be approved before goods can be submitted."),
            code="supplier_not_approved",
        )
    if not product.skus.filter(is_active=True).exists():
        raise ValidationError(_("Add at least one SKU before submitting."), code="no_sku")
    if not product.images.filter(is_hidden=False).exists():
        raise ValidationError(_("Add at least one image before submitting."), code="no_image")
    return _vetting_move(product=product, to_status=V.SUBMITTED, actor=actor, moves=SUPPLIER_MOVES)


@transaction.atomic
def product_review_start(*, product: Product, actor: Any) -> Product:
    return _vetting_move(product=product, to_status=V.IN_REVIEW, actor=actor, moves=STAFF_MOVES)


def _checklist_clean(checklist: Mapping[str, bool] | None) -> dict[str, bool]:
    checklist = checklist or {}
    return {item: bool(checklist.get(item)) for item in CHECKLIST_ITEMS}


@transaction.atomic
def product_approve(
    *, product: Product, actor: Any, checklist: Mapping[str, bool], note: str = ""
) -> Product:
    clean = _checklist_clean(checklist)
    missing = [item for item, ok in clean.items() if not ok]
    if missing:
        raise ValidationError(
            _("Tick every check before approving: %(items)s") % {"items": ", ".join(missing)},
            code="checklist_incomplete",
        )
    if product.supplier.status != Supplier.Status.APPROVED:
        raise ValidationError(_("The supplier is not approved."), code="supplier_not_approved")
    return _vetting_move(
        product=product,
        to_status=V.APPROVED,
        actor=actor,
        moves=STAFF_MOVES,
        checklist=clean,
        note=note,
    )


def _product_send_back(
    *,
    product: Product,
    actor: Any,
    note: str,
    checklist: Mapping[str, bool] | None,
    to_status: str,
    note_missing: str,
) -> Product:
    """A staff decision that sends the product back to its supplier: it must say why."""
    if not note.strip():
        raise ValidationError({"note": note_missing})
    return _vetting_move(
        product=product,
        to_status=to_status,
        actor=actor,
        moves=STAFF_MOVES,
        checklist=_checklist_clean(checklist),
        note=note,
    )


@transaction.atomic
def product_request_changes(
    *, product: Product, actor: Any, note: str, checklist: Mapping[str, bool] | None = None
) -> Product:
    return _product_send_back(
        product=product,
        actor=actor,
        note=note,
        checklist=checklist,
        to_status=V.CHANGES_REQUESTED,
        note_missing=_("Tell the supplier what to change."),
    )


@transaction.atomic
def product_reject(
    *, product: Product, actor: Any, note: str, checklist: Mapping[str, bool] | None = None
) -> Product:
    return _product_send_back(
        product=product,
        actor=actor,
        note=note,
        checklist=checklist,
        to_status=V.REJECTED,
        note_missing=_("Tell the supplier why the product is rejected."),
    )
