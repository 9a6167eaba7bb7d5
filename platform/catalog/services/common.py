"""What every catalog service shares: the audit trail, rich text, ownership and input checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from core.money import yuan
from core.text import text_problem

from ..models import AuditEntry, Product, Supplier

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


# --- checks -------------------------------------------------------------------------------------


def field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def text_clean(
    value: str, *, field: str, multiline: bool = False, max_length: int | None = None
) -> str:
    """VALUE stripped, or a field error if it holds what core.text refuses (NUL, bidi overrides).

    Forms check this already; services check it again because the CSV import and the API reach
    them without a form, and PostgreSQL answers a NUL byte with an error (a 500).
    """
    value = (value or "").strip()
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise field_error(field, problem, "unsafe_text")
    if max_length is not None and len(value) > max_length:
        raise field_error(field, _("At most %(n)d characters.") % {"n": max_length}, "too_long")
    return value


_WHOLE = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def whole_number(value: Any) -> int | None:
    """VALUE as an int if it is one (an int, or ASCII digits with an optional minus), else None.

    Not int(): it takes "1_000", " ٣ " and other forms nobody types into a price on purpose.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def bounded(number: int, *, field: str, maximum: int, money: bool = False) -> int:
    """NUMBER if it is at most MAXIMUM; else a field error naming the bound (in yuan for money)."""
    if number > maximum:
        shown = yuan(maximum) if money else f"{maximum:,}"
        raise field_error(field, _("At most %(max)s.") % {"max": shown}, "too_large")
    return number


# --- ownership and editability ------------------------------------------------------------------

EDITABLE_STATES = {Product.Vetting.DRAFT, Product.Vetting.CHANGES_REQUESTED}


def require_owner(*, product: Product, supplier: Supplier) -> None:
    if product.supplier_id != supplier.pk:
        # Callers look products up through the supplier already; this is the second lock.
        raise PermissionDenied("product of another supplier")


def require_editable(product: Product) -> None:
    if product.vetting_status not in EDITABLE_STATES:
        raise ValidationError(
            _("Only drafts and products sent back for changes can be edited."),
            code="not_editable",
        )
