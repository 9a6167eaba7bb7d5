"""QR codes for scan-to-pay and share posters (the one module that imports segno)."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An inline SVG of DATA. It holds the code's modules and a fixed title, none of DATA's
    text, so it is safe to embed in a page."""
    svg = segno.make(data, error="m").svg_inline(scale=6, border=2, title="QR")
    return mark_safe(svg)  # noqa: S308 (generated markup, no user text inside)


def qr_modules(data: str) -> list[list[bool]]:
    """The modules of DATA's QR code (dark = True), row by row, without the quiet zone: for
    drawing it elsewhere (share posters). The same code as qr_svg (error level M)."""
    return [[bool(cell) for cell in row] for row in segno.make(data, error="m").matrix]
