"""Template filters for catalog money (integer fen shown as yuan)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """12345 -> "¥123.45"; integer arithmetic only, so no float ever rounds a price."""
    if fen is None or fen == "":
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


@register.filter
def fen_as_yuan_input(fen: int | None) -> str:
    """12345 -> "123.45" for a form's initial value."""
    if fen is None:
        return ""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}"
