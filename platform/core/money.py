"""Money is an integer number of fen. These are the only formatters and parsers of it.

Integer arithmetic only: no float ever touches an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal

# What a PostgreSQL integer column holds: amounts above it cannot be stored, so forms refuse them.
FEN_MAX = 2_147_483_647

_YUAN = re.compile(r"^(0|[1-9]\d{0,12})(\.\d{1,2})?$")


def yuan(fen: int | None, *, symbol: bool = True, grouping: bool = True) -> str:
    """12345 → "¥123.45" (−12345 → "-¥123.45"); None → "—"."""
    if fen is None:
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    number = f"{whole:,}" if grouping else str(whole)
    return f"{sign}{'¥' if symbol else ''}{number}.{cents:02d}"


def yuan_plain(fen: int | None) -> str:
    """12345 → "123.45": for form inputs and payment providers' amount fields."""
    if fen is None:
        return ""
    return yuan(fen, symbol=False, grouping=False)


def yuan_parse(text: str) -> int:
    """ "88.8" → 8880, strictly: no sign, exponent, grouping or third decimal. ValueError else."""
    text = (text or "").strip()
    if not _YUAN.match(text):
        raise ValueError(f"not an amount in yuan: {text!r}")
    return int(Decimal(text) * 100)
