"""The one shared stock number of each SKU: what suppliers count, what checkouts take."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..limits import STOCK_MAX
from ..models import SKU, Supplier
from .common import audit_record, bounded, require_owner, whole_number


def stock_parse(value: Any) -> int:
    """A stock count from 0 to STOCK_MAX, from an int or the digits typed in a form or a CSV."""
    number = whole_number(value)
    if number is None:
        raise ValidationError({"stock": _("Stock is a whole number.")})
    if number < 0:
        raise ValidationError({"stock": _("Stock cannot be negative.")}, code="negative")
    return bounded(number, field="stock", maximum=STOCK_MAX)


@transaction.atomic
def sku_stock_set(
    *, sku: SKU, supplier: Supplier, actor: Any, stock: Any, expected: int | None = None
) -> SKU:
    """The supplier's count of what is on the shelf (an absolute number, not a delta).

    EXPECTED is the stock the supplier was looking at. Orders take stock all the time, so an
    absolute number typed over a stale page would silently give back units already sold; with
    EXPECTED the write happens only if nothing moved meanwhile.
    """
    require_owner(product=sku.product, supplier=supplier)
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
    require_owner(product=sku.product, supplier=supplier)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationError({"delta": _("Enter a whole number of units, not zero.")})
    bounded(abs(delta), field="delta", maximum=STOCK_MAX)
    changed = (
        SKU.objects.filter(pk=sku.pk, stock__gte=max(0, -delta))
        .filter(stock__lte=STOCK_MAX - max(0, delta))
        .update(stock=F("stock") + delta, updated_at=timezone.now())
    )
    if changed == 0:
        sku.refresh_from_db()
        if delta > 0:
            bounded(sku.stock + delta, field="delta", maximum=STOCK_MAX)
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


def _quantity_check(quantity: Any) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(_("The quantity is a whole number above zero."))
    bounded(quantity, field="quantity", maximum=STOCK_MAX)


def sku_stock_reserve(*, sku_id: int, quantity: int) -> bool:
    """Take QUANTITY from the shared stock if there is that much; False (and no change) if not.

    One conditional UPDATE: concurrent checkouts serialise on the row and the loser sees the
    stock the winner left, so the shared number can never be oversold.
    """
    _quantity_check(quantity)
    taken = SKU.objects.filter(pk=sku_id, stock__gte=quantity).update(
        stock=F("stock") - quantity, updated_at=timezone.now()
    )
    return taken == 1


def sku_stock_release(*, sku_id: int, quantity: int) -> None:
    """Give back stock taken by sku_stock_reserve (an unpaid order expired, a return)."""
    _quantity_check(quantity)
    SKU.objects.filter(pk=sku_id).update(stock=F("stock") + quantity, updated_at=timezone.now())
