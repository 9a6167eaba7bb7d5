"""Writes to the shared catalog. Public schema.

Every write that a person makes is recorded in AuditEntry (and, for status changes, in the
supplier's or product's own history) in the same transaction as the change itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    SKU,
    AuditEntry,
    Category,
    PriceChange,
    Product,
    ProductImage,
    ReturnPolicy,
    ShippingRule,
    ShippingTemplate,
    ShopListing,
    Supplier,
    SupplierDocument,
    SupplierStatusChange,
    VettingEvent,
)
from .uploads import document_check, image_check

logger = logging.getLogger(__name__)

# --- audit --------------------------------------------------------------------------------------


def audit_record(
    *,
    actor: Any,
    action: str,
    supplier: Supplier | None = None,
    product: Product | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        supplier=supplier,
        product=product,
        detail=dict(detail or {}),
    )


# --- rich text ----------------------------------------------------------------------------------

RICH_TEXT_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "h2", "h3", "h4",
    "blockquote", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "span",
}  # fmt: skip
RICH_TEXT_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


def rich_text_clean(html: str) -> str:
    """Supplier-written HTML reduced to formatting tags, without scripts, styles or handlers."""
    return nh3.clean(
        html or "",
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes={"http", "https"},
        clean_content_tags={"script", "style"},
    ).strip()


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
    if len(credit_code) != 18 or not credit_code.isalnum():
        raise ValidationError(
            {"credit_code": _("The unified social credit code has 18 letters and digits.")}
        )
    if Supplier.objects.filter(user=user).exists():
        raise ValidationError(_("This account already belongs to a supplier."), code="exists")
    if Supplier.objects.filter(credit_code=credit_code).exists():
        raise ValidationError({"credit_code": _("A supplier with this code is registered.")})
    supplier = Supplier.objects.create(
        user=user,
        company_name=company_name.strip(),
        credit_code=credit_code,
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
        address=address.strip(),
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
    username = username.strip()
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
            _("A supplier cannot go from %(a)s to %(b)s.") % {"a": from_status, "b": to_status},
            code="illegal_transition",
        )
    if to_status == Supplier.Status.SUSPENDED and not note.strip():
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
    checked = document_check(file)
    document = SupplierDocument(
        supplier=supplier,
        kind=kind,
        product=product,
        title=title.strip() or (file.name or ""),
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


# --- categories and shipping --------------------------------------------------------------------


@transaction.atomic
def category_create(
    *, name: str, actor: Any, parent: Category | None = None, position: int = 0
) -> Category:
    name = name.strip()
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
    category.name = name.strip()
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


@dataclass(frozen=True)
class RuleSpec:
    regions: list[str]
    first_kg_fee_fen: int
    extra_kg_fee_fen: int = 0


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
    for value in (default_fee_fen, free_over_fen):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValidationError(_("Fees are whole numbers of fen, zero or more."))
    template = ShippingTemplate.objects.create(
        supplier=supplier,
        name=name.strip(),
        default_fee_fen=default_fee_fen,
        free_over_fen=free_over_fen,
    )
    for rule in rules:
        regions = [r.strip() for r in rule.regions if r.strip()]
        if not regions:
            raise ValidationError(_("Each shipping rule names at least one region."))
        for fee in (rule.first_kg_fee_fen, rule.extra_kg_fee_fen):
            if not isinstance(fee, int) or fee < 0:
                raise ValidationError(_("Fees are whole numbers of fen, zero or more."))
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


# --- prices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceTerms:
    supply_price_fen: int
    suggested_retail_fen: int
    min_retail_fen: int
    max_retail_fen: int


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def fen_parse(value: Any, *, field: str = "price") -> int:
    """A price as a whole, non-negative number of fen; anything else is a clear error."""
    if isinstance(value, bool):
        raise _field_error(field, _("Enter a whole number of fen."), "not_integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise _field_error(field, _("Enter a whole number of fen."), "not_integer")
    if number < 0:
        raise _field_error(field, _("A price cannot be negative."), "negative")
    return number


def price_terms_check(terms: PriceTerms) -> PriceTerms:
    clean = PriceTerms(
        supply_price_fen=fen_parse(terms.supply_price_fen, field="supply_price_fen"),
        suggested_retail_fen=fen_parse(terms.suggested_retail_fen, field="suggested_retail_fen"),
        min_retail_fen=fen_parse(terms.min_retail_fen, field="min_retail_fen"),
        max_retail_fen=fen_parse(terms.max_retail_fen, field="max_retail_fen"),
    )
    if clean.supply_price_fen == 0:
        raise ValidationError({"supply_price_fen": _("The supply price must be above zero.")})
    if clean.min_retail_fen < clean.supply_price_fen:
        raise ValidationError(
            {"min_retail_fen": _("The minimum retail price cannot be below the supply price.")}
        )
    if not clean.min_retail_fen <= clean.suggested_retail_fen <= clean.max_retail_fen:
        raise ValidationError(
            {
                "suggested_retail_fen": _(
                    "The suggested retail price must lie between the minimum and the maximum."
                )
            }
        )
    return clean


def retail_price_check(*, sku: SKU, retail_price_fen: Any) -> int:
    """A creator's retail price for SKU, within the supplier's bounds (in fen)."""
    price = fen_parse(retail_price_fen, field="retail_price_fen")
    if price < sku.min_retail_fen:
        raise _field_error(
            "retail_price_fen",
            _("%(sku)s: the price is below the minimum of %(min)s fen.")
            % {"sku": sku.label, "min": sku.min_retail_fen},
            "below_min",
        )
    if price > sku.max_retail_fen:
        raise _field_error(
            "retail_price_fen",
            _("%(sku)s: the price is above the maximum of %(max)s fen.")
            % {"sku": sku.label, "max": sku.max_retail_fen},
            "above_max",
        )
    return price


# --- products -----------------------------------------------------------------------------------

EDITABLE_STATES = {Product.Vetting.DRAFT, Product.Vetting.CHANGES_REQUESTED}


def _require_owner(*, product: Product, supplier: Supplier) -> None:
    if product.supplier_id != supplier.pk:
        # Callers look products up through the supplier already; this is the second lock.
        raise PermissionDenied("product of another supplier")


def _require_editable(product: Product) -> None:
    if product.vetting_status not in EDITABLE_STATES:
        raise ValidationError(
            _("Only drafts and products sent back for changes can be edited."),
            code="not_editable",
        )


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
    return weight_g


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
    if not title.strip():
        raise ValidationError({"title": _("Give the product a title.")})
    product = Product.objects.create(
        supplier=supplier,
        category=category,
        title=title.strip(),
        description=rich_text_clean(description),
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
    _require_owner(product=product, supplier=supplier)
    product = Product.objects.select_for_update().get(pk=product.pk)
    _require_editable(product)
    product.weight_g = _product_fields_check(
        supplier=supplier,
        category=category,
        shipping_template=shipping_template,
        weight_g=weight_g,
        return_policy=return_policy,
    )
    product.category = category
    product.title = title.strip()
    product.shipping_template = shipping_template
    product.description = rich_text_clean(description)
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
    _require_owner(product=product, supplier=supplier)
    _require_editable(product)
    clean = price_terms_check(terms)
    stock_value = stock_parse(stock)
    code = code.strip()
    if not code:
        raise ValidationError({"code": _("Give the SKU a code.")})
    if SKU.objects.filter(product=product, code=code).exists():
        raise ValidationError({"code": _("This product already has a SKU with this code.")})
    sku = SKU.objects.create(
        product=product,
        code=code,
        options={str(k).strip(): str(v).strip() for k, v in (options or {}).items()},
        stock=stock_value,
        **clean.__dict__,
    )
    audit_record(
        actor=actor, action="sku.create", supplier=supplier, product=product, detail={"sku": code}
    )
    return sku


@transaction.atomic
def sku_terms_update(*, sku: SKU, supplier: Supplier, actor: Any, terms: PriceTerms) -> SKU:
    """Edit price terms directly: only before the product is approved (see price changes)."""
    _require_owner(product=sku.product, supplier=supplier)
    _require_editable(sku.product)
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
def product_image_add(
    *, product: Product, supplier: Supplier, actor: Any, file: UploadedFile, alt: str = ""
) -> ProductImage:
    _require_owner(product=product, supplier=supplier)
    checked = image_check(file)
    position = product.images.count()
    image = ProductImage(
        product=product,
        alt=alt.strip(),
        width=checked.width or 0,
        height=checked.height or 0,
        position=position,
    )
    image.file.save(file.name or "image", file, save=False)
    image.save()
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
) -> ProductImage:
    """Take an image off a draft or sent-back product (kept, like every catalog row)."""
    _require_owner(product=product, supplier=supplier)
    _require_editable(product)
    image = ProductImage.objects.get(product=product, pk=image_id)
    image.is_hidden = True
    image.save(update_fields=["is_hidden"])
    audit_record(
        actor=actor,
        action="product.image_hide",
        supplier=supplier,
        product=product,
        detail={"image": image.pk},
    )
    return image


@transaction.atomic
def product_set_active(
    *, product: Product, supplier: Supplier, actor: Any, is_active: bool
) -> Product:
    """The supplier discontinues (or resumes) a product; it is never deleted."""
    _require_owner(product=product, supplier=supplier)
    Product.objects.filter(pk=product.pk).update(is_active=is_active, updated_at=timezone.now())
    product.refresh_from_db()
    audit_record(
        actor=actor,
        action="product.activate" if is_active else "product.deactivate",
        supplier=supplier,
        product=product,
    )
    return product


# --- vetting ------------------------------------------------------------------------------------

V = Product.Vetting
CHECKLIST_ITEMS = ("qualifications", "price_sanity", "images", "claims")

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
    from .tasks import vetting_notice_task

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
    _require_owner(product=product, supplier=supplier)
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


# --- curation -----------------------------------------------------------------------------------


@transaction.atomic
def product_suspend(*, product: Product, actor: Any, reason: str) -> Product:
    """Hide a product from new listings; shops' existing listings show it as unavailable."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the product is suspended.")})
    Product.objects.filter(pk=product.pk).update(
        is_suspended=True, suspended_reason=reason.strip(), updated_at=timezone.now()
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


# --- stock --------------------------------------------------------------------------------------


def stock_parse(value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationError({"stock": _("Stock is a whole number.")})
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValidationError({"stock": _("Stock is a whole number.")})
    if value < 0:
        raise ValidationError({"stock": _("Stock cannot be negative.")}, code="negative")
    return value


@transaction.atomic
def sku_stock_set(
    *, sku: SKU, supplier: Supplier, actor: Any, stock: Any, expected: int | None = None
) -> SKU:
    """The supplier's count of what is on the shelf (an absolute number, not a delta).

    EXPECTED is the stock the supplier was looking at. Orders take stock all the time, so an
    absolute number typed over a stale page would silently give back units already sold; with
    EXPECTED the write happens only if nothing moved meanwhile.
    """
    _require_owner(product=sku.product, supplier=supplier)
    value = stock_parse(stock)
    rows = SKU.objects.filter(pk=sku.pk)
    if expected is not None:
        rows = rows.filter(stock=expected)
    if rows.update(stock=value, updated_at=timezone.now()) == 0:
        sku.refresh_from_db()
        raise ValidationError(
            _("The stock changed to %(now)d while you were editing; check it and save again.")
            % {"now": sku.stock},
            code="stale",
        )
    old = sku.stock if expected is None else expected
    sku.refresh_from_db()
    audit_record(
        actor=actor,
        action="sku.stock_set",
        supplier=supplier,
        product=sku.product,
        detail={"sku": sku.code, "from": old, "to": value},
    )
    return sku


@transaction.atomic
def sku_stock_adjust(*, sku: SKU, supplier: Supplier, actor: Any, delta: Any) -> SKU:
    """Add received goods (delta > 0) or write off damaged ones (delta < 0), race-free."""
    _require_owner(product=sku.product, supplier=supplier)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationError({"delta": _("Enter a whole number of units, not zero.")})
    changed = SKU.objects.filter(pk=sku.pk, stock__gte=max(0, -delta)).update(
        stock=F("stock") + delta, updated_at=timezone.now()
    )
    if changed == 0:
        raise ValidationError(_("Stock cannot go below zero."), code="negative")
    sku.refresh_from_db()
    audit_record(
        actor=actor,
        action="sku.stock_adjust",
        supplier=supplier,
        product=sku.product,
        detail={"sku": sku.code, "delta": delta, "to": sku.stock},
    )
    return sku


def sku_stock_reserve(*, sku_id: int, quantity: int) -> bool:
    """Take QUANTITY from the shared stock if there is that much; False (and no change) if not.

    One conditional UPDATE: concurrent checkouts serialise on the row and the loser sees the
    stock the winner left, so the shared number can never be oversold.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(_("The quantity is a whole number above zero."))
    taken = SKU.objects.filter(pk=sku_id, stock__gte=quantity).update(
        stock=F("stock") - quantity, updated_at=timezone.now()
    )
    return taken == 1


def sku_stock_release(*, sku_id: int, quantity: int) -> None:
    """Give back stock taken by sku_stock_reserve (an unpaid order expired, a return)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(_("The quantity is a whole number above zero."))
    SKU.objects.filter(pk=sku_id).update(stock=F("stock") + quantity, updated_at=timezone.now())


# --- price changes on approved products ---------------------------------------------------------


@transaction.atomic
def price_change_request(
    *, sku: SKU, supplier: Supplier, actor: Any, terms: PriceTerms, note: str = ""
) -> PriceChange:
    """New terms for an approved product's SKU: they wait for staff approval to take effect."""
    _require_owner(product=sku.product, supplier=supplier)
    if sku.product.vetting_status != V.APPROVED:
        raise ValidationError(
            _("Edit the prices directly: the product is not approved yet."), code="not_approved"
        )
    clean = price_terms_check(terms)
    if PriceChange.objects.filter(sku=sku, status=PriceChange.Status.PENDING).exists():
        raise ValidationError(
            _("A price change for this SKU is already waiting for review."), code="pending"
        )
    change = PriceChange.objects.create(sku=sku, requested_by=actor, note=note, **clean.__dict__)
    audit_record(
        actor=actor,
        action="price_change.request",
        supplier=supplier,
        product=sku.product,
        detail={"sku": sku.code, "change": change.pk, **clean.__dict__},
    )
    return change


def _pending_change_locked(change: PriceChange) -> PriceChange:
    change = (
        PriceChange.objects.select_for_update().select_related("sku__product").get(pk=change.pk)
    )
    if change.status != PriceChange.Status.PENDING:
        raise ValidationError(_("This price change was already decided."), code="decided")
    return change


@transaction.atomic
def price_change_approve(*, change: PriceChange, actor: Any) -> PriceChange:
    """Apply new terms and flag every shop whose price for the SKU now lies outside them."""
    change = _pending_change_locked(change)
    sku = change.sku
    SKU.objects.filter(pk=sku.pk).update(
        supply_price_fen=change.supply_price_fen,
        suggested_retail_fen=change.suggested_retail_fen,
        min_retail_fen=change.min_retail_fen,
        max_retail_fen=change.max_retail_fen,
        updated_at=timezone.now(),
    )
    sku.refresh_from_db()
    change.flagged_listings = shops_flag_out_of_bounds(sku=sku)
    change.status = PriceChange.Status.APPROVED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save()
    audit_record(
        actor=actor,
        action="price_change.approve",
        supplier=sku.product.supplier,
        product=sku.product,
        detail={"sku": sku.code, "change": change.pk, "flagged": change.flagged_listings},
    )
    return change


@transaction.atomic
def price_change_reject(*, change: PriceChange, actor: Any, note: str) -> PriceChange:
    change = _pending_change_locked(change)
    if not note.strip():
        raise ValidationError({"note": _("Tell the supplier why.")})
    change.status = PriceChange.Status.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.note = note
    change.save()
    audit_record(
        actor=actor,
        action="price_change.reject",
        supplier=change.sku.product.supplier,
        product=change.sku.product,
        detail={"sku": change.sku.code, "change": change.pk, "note": note},
    )
    return change


def shops_flag_out_of_bounds(*, sku: SKU) -> int:
    """Tell each shop listing SKU whose price is now out of bounds; returns how many listings.

    Runs in every such shop's schema in turn, inside the caller's transaction: the new terms
    and the flags commit together.
    """
    from django_tenants.utils import tenant_context

    from storefront.services import (
        listing_items_flag_out_of_bounds,
        listing_items_unflag_in_bounds,
    )
    from tenants.models import Tenant

    tenant_ids = (
        ShopListing.objects.filter(product_id=sku.product_id)
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    flagged = 0
    for tenant in Tenant.objects.filter(pk__in=list(tenant_ids)).order_by("pk"):
        with tenant_context(tenant):
            flagged += listing_items_flag_out_of_bounds(sku=sku)
            listing_items_unflag_in_bounds(sku=sku)
    return flagged
