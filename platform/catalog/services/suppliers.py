"""Suppliers (sign-up, staff decisions, qualification documents), their shipping templates, and
the category tree they file goods under. Public schema."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..limits import FEE_MAX_FEN, PRICE_MAX_FEN
from ..models import (
    Category,
    Product,
    ShippingRule,
    ShippingTemplate,
    Supplier,
    SupplierDocument,
    SupplierStatusChange,
)
from ..uploads import document_check
from .common import audit_record, bounded, text_clean

# --- suppliers ----------------------------------------------------------------------------------

SUPPLIER_TRANSITIONS: dict[str, set[str]] = {
    Supplier.Status.PENDING: {Supplier.Status.APPROVED, Supplier.Status.SUSPENDED},
    Supplier.Status.APPROVED: {Supplier.Status.SUSPENDED},
    Supplier.Status.SUSPENDED: {Supplier.Status.APPROVED},
}


@transaction.atomic
def supplier_register(
    *,
    user: Any,
    company_name: str,
    credit_code: str,
    contact_name: str,
    contact_phone: str,
    address: str = "",
) -> Supplier:
    credit_code = credit_code.strip().upper()
    if len(credit_code) != 18 or not credit_code.isascii() or not credit_code.isalnum():
        raise ValidationError(
            {"credit_code": _("The unified social credit code has 18 letters and digits.")}
        )
    if Supplier.objects.filter(user=user).exists():
        raise ValidationError(_("This account already belongs to a supplier."), code="exists")
    if Supplier.objects.filter(credit_code=credit_code).exists():
        raise ValidationError({"credit_code": _("A supplier with this code is registered.")})
    supplier = Supplier.objects.create(
        user=user,
        company_name=text_clean(company_name, field="company_name", max_length=200),
        credit_code=credit_code,
        contact_name=text_clean(contact_name, field="contact_name", max_length=100),
        contact_phone=text_clean(contact_phone, field="contact_phone", max_length=30),
        address=text_clean(address, field="address", max_length=300),
    )
    audit_record(actor=user, action="supplier.register", supplier=supplier)
    return supplier


@transaction.atomic
def supplier_signup(
    *,
    username: str,
    password: str,
    email: str,
    company_name: str,
    credit_code: str,
    contact_name: str,
    contact_phone: str,
    address: str = "",
) -> Supplier:
    """A new platform account and its supplier together: both are made, or neither."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    User = get_user_model()
    username = text_clean(username, field="username")
    if not username:
        raise ValidationError({"username": _("Choose a user name.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    user = User(username=username, email=email.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    return supplier_register(
        user=user,
        company_name=company_name,
        credit_code=credit_code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
    )


@transaction.atomic
def supplier_status_set(
    *, supplier: Supplier, to_status: str, actor: Any, note: str = ""
) -> Supplier:
    """Staff decide a supplier's status; the move is checked and kept in its history."""
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    from_status = supplier.status
    if to_status not in SUPPLIER_TRANSITIONS.get(from_status, set()):
        raise ValidationError(
            _("A supplier cannot go from “%(a)s” to “%(b)s”.")
            % {
                "a": Supplier.Status(from_status).label,
                "b": dict(Supplier.Status.choices).get(to_status, to_status),
            },
            code="illegal_transition",
        )
    note = text_clean(note, field="note", multiline=True)
    if to_status == Supplier.Status.SUSPENDED and not note:
        raise ValidationError({"note": _("Say why the supplier is suspended.")})
    supplier.status = to_status
    supplier.save(update_fields=["status", "updated_at"])
    SupplierStatusChange.objects.create(
        supplier=supplier, from_status=from_status, to_status=to_status, actor=actor, note=note
    )
    audit_record(
        actor=actor,
        action=f"supplier.{to_status}",
        supplier=supplier,
        detail={"from": from_status, "note": note},
    )
    return supplier


@transaction.atomic
def supplier_document_add(
    *,
    supplier: Supplier,
    kind: str,
    title: str,
    file: UploadedFile,
    actor: Any,
    product: Product | None = None,
) -> SupplierDocument:
    if kind not in SupplierDocument.Kind.values:
        raise ValidationError({"kind": _("Choose a kind of document.")})
    if product is not None and product.supplier_id != supplier.pk:
        raise PermissionDenied("product of another supplier")
    title = text_clean(title, field="title", max_length=200)
    checked = document_check(file)
    document = SupplierDocument(
        supplier=supplier,
        kind=kind,
        product=product,
        title=title or text_clean(file.name or "", field="file")[:200],
        content_type=checked.content_type,
        size=checked.size,
    )
    document.file.save(file.name or "document", file, save=False)
    document.save()
    audit_record(
        actor=actor,
        action="supplier.document_add",
        supplier=supplier,
        product=product,
        detail={"document": document.pk, "kind": kind},
    )
    return document


# --- categories ---------------------------------------------------------------------------------


@transaction.atomic
def category_create(
    *, name: str, actor: Any, parent: Category | None = None, position: int = 0
) -> Category:
    name = text_clean(name, field="name", max_length=100)
    if not name:
        raise ValidationError({"name": _("Give the category a name.")})
    siblings = Category.objects.filter(parent=parent, name=name)
    if siblings.exists():
        raise ValidationError({"name": _("This category already exists here.")})
    category = Category.objects.create(name=name, parent=parent, position=position)
    audit_record(
        actor=actor,
        action="category.create",
        detail={"category": category.pk, "name": name, "parent": parent.pk if parent else None},
    )
    return category


@transaction.atomic
def category_update(
    *,
    category: Category,
    actor: Any,
    name: str,
    parent: Category | None,
    is_active: bool,
    position: int = 0,
) -> Category:
    # Walking up from the new parent must never reach the category itself (no cycles).
    node = parent
    while node is not None:
        if node.pk == category.pk:
            raise ValidationError({"parent": _("A category cannot sit inside itself.")})
        node = node.parent
    category.name = text_clean(name, field="name", max_length=100)
    category.parent = parent
    category.is_active = is_active
    category.position = position
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("This category already exists here.")}) from exc
    audit_record(
        actor=actor,
        action="category.update",
        detail={"category": category.pk, "name": category.name, "active": is_active},
    )
    return category


# --- shipping templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    regions: list[str]
    first_kg_fee_fen: int
    extra_kg_fee_fen: int = 0


def _fee_check(value: Any, *, field: str, maximum: int = FEE_MAX_FEN) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError({field: _("Fees are whole numbers of fen, zero or more.")})
    bounded(value, field=field, maximum=maximum, money=True)


@transaction.atomic
def shipping_template_create(
    *,
    supplier: Supplier,
    name: str,
    actor: Any,
    rules: Iterable[RuleSpec] = (),
    default_fee_fen: int | None = None,
    free_over_fen: int | None = None,
) -> ShippingTemplate:
    name = text_clean(name, field="name", max_length=100)
    if not name:
        raise ValidationError({"name": _("Give the template a name.")})
    if default_fee_fen is not None:
        _fee_check(default_fee_fen, field="default_fee_fen")
    if free_over_fen is not None:
        _fee_check(free_over_fen, field="free_over_fen", maximum=PRICE_MAX_FEN)
    template = ShippingTemplate.objects.create(
        supplier=supplier,
        name=name,
        default_fee_fen=default_fee_fen,
        free_over_fen=free_over_fen,
    )
    for rule in rules:
        regions = [text_clean(r, field="regions") for r in rule.regions]
        regions = [r for r in regions if r]
        if not regions:
            raise ValidationError(_("Each shipping rule names at least one region."))
        if any(len(r) > 20 for r in regions):
            raise ValidationError({"regions": _("A region name has at most 20 characters.")})
        _fee_check(rule.first_kg_fee_fen, field="first_kg_fee_fen")
        _fee_check(rule.extra_kg_fee_fen, field="extra_kg_fee_fen")
        ShippingRule.objects.create(
            template=template,
            regions=regions,
            first_kg_fee_fen=rule.first_kg_fee_fen,
            extra_kg_fee_fen=rule.extra_kg_fee_fen,
        )
    audit_record(
        actor=actor,
        action="shipping_template.create",
        supplier=supplier,
        detail={"template": template.pk},
    )
    return template
