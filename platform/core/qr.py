"""QR codes for scan-to-pay (the one module that imports segno)."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An inline SVG of DATA. It holds the code's modules and a fixed title, none of DATA's
    text, so it is safe to embed in a page."""
    svg = segno.make(data, error="m").svg_inline(scale=6, border=2, title="QR")
    return mark_safe(svg)  # noqa: S308 (generated markup, no user text inside)
