"""Filters for the PDF templates: money in yuan from integer fen, tax rates from basis points."""

from __future__ import annotations

from typing import Any

from django import template

from core.money import yuan

register = template.Library()


@register.filter
def fen_yuan(fen: int | None) -> str:
    """1234567 → "12,345.67"; -5 → "-0.05" (integer arithmetic: fen are never floats)."""
    if fen is None:
        return ""
    return yuan(fen, symbol=False)


@register.filter
def rate_percent(bp: int | None) -> str:
    """1300 → "13%"; 150 → "1.5%"."""
    if bp is None:
        return ""
    whole, rest = divmod(int(bp), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)
