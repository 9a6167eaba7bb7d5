"""Template filters for catalog money (integer fen shown as yuan) and states."""

from __future__ import annotations

from django import template

from core import money

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """12345 -> "¥123.45" (core.money: integer arithmetic, so no float ever rounds a price)."""
    if fen == "":
        return money.yuan(None)
    return money.yuan(fen)


@register.filter
def fen_as_yuan_input(fen: int | None) -> str:
    """12345 -> "123.45" for a form's initial value."""
    return money.yuan_plain(fen)


@register.filter
def checklist_label(item: str) -> str:
    """A vetting checklist key ("price_sanity") as the reviewer reads it (translated)."""
    from catalog.services.vetting import CHECKLIST_LABELS

    return str(CHECKLIST_LABELS.get(item, item))
