"""Price terms of SKUs: parsing, the supplier's bounds, and price changes on approved goods.

A price change to an approved product waits for staff. Its approval commits the new terms
alone; shops learn of them after the commit, through the hook named in
VSTORE_PRICE_TERMS_CHANGED_HOOK (a task per shop that lists the SKU flags the creator's prices
now outside the bounds). The catalog never writes into a shop's schema, and the staff
transaction never waits on every shop while it holds the SKU's row lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core.money import yuan

from ..limits import PRICE_MAX_FEN
from ..models import SKU, PriceChange, Product, ShopListing, Supplier
from .common import audit_record, bounded, field_error, require_owner, text_clean, whole_number

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceTerms:
    supply_price_fen: int
    suggested_retail_fen: int
    min_retail_fen: int
    max_retail_fen: int


def fen_parse(value: Any, *, field: str = "price", maximum: int = PRICE_MAX_FEN) -> int:
    """A price as a whole number of fen from 0 to MAXIMUM; anything else is a clear error."""
    number = whole_number(value)
    if number is None:
        raise field_error(field, _("Enter a whole number of fen."), "not_integer")
    if number < 0:
        raise field_error(field, _("A price cannot be negative."), "negative")
    return bounded(number, field=field, maximum=maximum, money=True)


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
        raise field_error(
            "retail_price_fen",
            _("%(sku)s: the price is below the minimum of %(min)s.")
            % {"sku": sku.label, "min": yuan(sku.min_retail_fen)},
            "below_min",
        )
    if price > sku.max_retail_fen:
        raise field_error(
            "retail_price_fen",
            _("%(sku)s: the price is above the maximum of %(max)s.")
            % {"sku": sku.label, "max": yuan(sku.max_retail_fen)},
            "above_max",
        )
    return price


# --- price changes on approved products ---------------------------------------------------------


@transaction.atomic
def price_change_request(
    *, sku: SKU, supplier: Supplier, actor: Any, terms: PriceTerms, note: str = ""
) -> PriceChange:
    """New terms for an approved product's SKU: they wait for staff approval to take effect."""
    require_owner(product=sku.product, supplier=supplier)
    if sku.product.vetting_status != Product.Vetting.APPROVED:
        raise ValidationError(
            _("Edit the prices directly: the product is not approved yet."), code="not_approved"
        )
    clean = price_terms_check(terms)
    note = text_clean(note, field="note", multiline=True)
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
    """Apply new terms; after the commit, the shops listing the SKU check their prices."""
    change = _pending_change_locked(change)
    sku = change.sku
    SKU.objects.filter(pk=sku.pk).update(
        supply_price_fen=change.supply_price_fen,
        suggested_retail_fen=change.suggested_retail_fen,
        min_retail_fen=change.min_retail_fen,
        max_retail_fen=change.max_retail_fen,
        updated_at=timezone.now(),
    )
    change.status = PriceChange.Status.APPROVED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save()
    audit_record(
        actor=actor,
        action="price_change.approve",
        supplier=sku.product.supplier,
        product=sku.product,
        detail={"sku": sku.code, "change": change.pk},
    )
    # Only once the terms are committed: a rolled-back approval tells no shop anything.
    change_id, sku_id = change.pk, sku.pk
    transaction.on_commit(lambda: price_terms_changed_hook_run(sku_id=sku_id, change_id=change_id))
    return change


@transaction.atomic
def price_change_reject(*, change: PriceChange, actor: Any, note: str) -> PriceChange:
    change = _pending_change_locked(change)
    note = text_clean(note, field="note", multiline=True)
    if not note:
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


def sku_listing_tenant_ids(*, sku_id: int) -> list[int]:
    """The shops (tenant ids) that list the product of SKU_ID: the ones a new term concerns."""
    product_id = SKU.objects.filter(pk=sku_id).values_list("product_id", flat=True).first()
    if product_id is None:
        return []
    return sorted(
        ShopListing.objects.filter(product_id=product_id)
        .values_list("tenant_id", flat=True)
        .distinct()
    )


def price_terms_changed_hook_run(*, sku_id: int, change_id: int | None = None) -> None:
    """Tell the shops that SKU_ID's price terms changed, after the commit that changed them.

    VSTORE_PRICE_TERMS_CHANGED_HOOK is the dotted path of `hook(*, sku_id, change_id,
    tenant_ids)`; it should enqueue one tenant-aware task per shop and return. A failing hook
    is logged: the terms stand, and running the hook again is harmless (the shops' work is
    idempotent).
    """
    path = getattr(settings, "VSTORE_PRICE_TERMS_CHANGED_HOOK", "")
    tenant_ids = sku_listing_tenant_ids(sku_id=sku_id)
    if not path or not tenant_ids:
        return
    try:
        import_string(path)(sku_id=sku_id, change_id=change_id, tenant_ids=tenant_ids)
    except Exception:  # committed already: a broker outage must not turn the approval into a 500
        logger.exception("price terms of SKU %s changed; the shops were not told", sku_id)


def price_change_flagged_add(*, change_id: int, flagged: int) -> None:
    """Count listings a shop flagged for CHANGE_ID (each shop's task adds its own)."""
    if flagged:
        PriceChange.objects.filter(pk=change_id).update(
            flagged_listings=F("flagged_listings") + flagged
        )
