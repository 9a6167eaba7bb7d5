"""The one module that talks to WeasyPrint: HTML in, PDF bytes out.

WeasyPrint is imported inside `pdf_render` only, so web processes that never render a PDF do not
load Pango and its fonts, and tests replace this wrapper rather than the SDK.

Documents are rendered from our own templates, but they carry user-entered text (an invoice
title, a shop's name). A URL fetcher that followed `<img src="http://…">` or
`url(file:///etc/passwd)` would let that text make the worker call the network or read its
disk, and embed the answer in a PDF handed back to the user. So the fetcher refuses every URL
except `data:` ones and the files of this app's own `static/documents/` folder. Fonts do not go
through it: Pango finds the system's CJK fonts through fontconfig by family name.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

# The only files a document may reference (a logo, a stylesheet): this app's own assets.
ASSETS_DIR = (Path(__file__).resolve().parent / "static" / "documents").resolve()


class URLRefused(ValueError):
    """A document asked for a URL it may not have (network, or a file outside ASSETS_DIR)."""


def url_allowed(url: str) -> bool:
    """Whether a document may load URL: `data:` URLs and files inside ASSETS_DIR only."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "data":
        return True
    if scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    # resolve() first: "assets/../../etc/passwd" and symlinks must not get out.
    return path.is_relative_to(ASSETS_DIR) and path.is_file()


def pdf_render(*, html: str, base_url: str | None = None) -> bytes:
    """Render HTML (a whole document) to PDF bytes.

    Relative URLs in HTML resolve against BASE_URL (default: this app's assets folder); anything
    the fetcher refuses is left out of the PDF and logged, and the PDF still renders.
    """
    import weasyprint
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url_allowed(url):
                logger.warning("document asked for %s: refused", url[:200])
                raise URLRefused(f"documents may not load {url[:200]}")
            return super().fetch(url, headers)

    document = weasyprint.HTML(
        string=html,
        base_url=base_url or ASSETS_DIR.as_uri() + "/",
        url_fetcher=LocalOnlyFetcher(timeout=5, allow_redirects=False),
    )
    return document.write_pdf(font_config=_font_config())


_FONT_CONFIG: list[Any] = []


def _font_config() -> Any:
    """One FontConfiguration per process: building one (fontconfig and a Pango font map) for
    every document cost ~8% of a statement's render, and a reused one keeps Pango's caches
    warm. Safe because our templates declare no @font-face (those would accumulate in it)."""
    if not _FONT_CONFIG:
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG.append(FontConfiguration())
    return _FONT_CONFIG[0]
