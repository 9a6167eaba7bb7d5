"""Drawing a share poster (Pillow): WIDTH × HEIGHT pixels, PNG.

┌──────────────┐  the product photo, square, cropped to fill
│    photo     │
├──────────────┤
│ ¥59.00 活动价 │  the price (a running campaign's, marked, when there is one)
│ title, two   │  the title, wrapped, cut with … after two lines
│ lines at most│
├──────────────┤
│ shop   ▣▣▣▣ │  the shop's name, "long-press to scan", the QR code of the share link
└──────────────┘
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageOps

from core.money import yuan
from core.qr import qr_modules

from .fonts import Font, poster_font

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 750, 1250
MARGIN = 40
PHOTO = WIDTH  # the photo's side
QR_SIZE = 210
QR_X, QR_Y = WIDTH - MARGIN - QR_SIZE, 1000
QUIET = 4  # the QR code's quiet zone, in modules (what scanners expect)
ACCENT, INK, GREY, RULE = (228, 57, 60), (34, 34, 34), (136, 136, 136), (238, 238, 238)
LOOKUP: Any = object()  # "find it": poster_render's default for the price and the photo


def qr_origin(modules: int) -> tuple[int, int, int]:
    """Where the first (top-left) module of a code MODULES wide is drawn, and each module's
    side in pixels: the code and its quiet zone are centred in the QR box."""
    scale = max(QR_SIZE // (modules + 2 * QUIET), 1)
    offset = (QR_SIZE - scale * modules) // 2
    return QR_X + offset, QR_Y + offset, scale


def _wrap(text: str, font: Font, width: int, lines: int) -> list[str]:
    """TEXT in at most LINES lines of WIDTH pixels (any character may end a line: Chinese has
    no spaces); the last one ends in … when text is left over."""
    out: list[str] = []
    line = ""
    for char in text:
        if font.getlength(line + char) <= width:
            line += char
            continue
        if len(out) == lines - 1:
            while line and font.getlength(line + "…") > width:
                line = line[:-1]
            return [*out, line + "…"]
        out.append(line)
        line = "" if char.isspace() else char
    return [*out, line] if line else out


def _photo(image: Any) -> Image.Image | None:
    """The product photo (a catalog ProductImage) cropped to a square; None if it is unreadable."""
    if image is None:
        return None
    try:
        with image.file.open("rb") as stored:
            opened = Image.open(io.BytesIO(stored.read()))
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("poster: product image %s unreadable: %s", image.pk, exc)
        return None
    return ImageOps.fit(picture, (PHOTO, PHOTO), Image.Resampling.LANCZOS)


def main_image(listing: Any) -> Any:
    """The listing's main photo: its product's first shown image, as product cards show it."""
    return listing.product.images.filter(is_hidden=False).order_by("position", "id").first()


def listing_price_fen(listing: Any) -> int | None:
    """The lowest price of the listing's items on sale (of any item when none is on sale)."""
    items = list(listing.items.select_related("sku__product"))
    on_sale = [i.retail_price_fen for i in items if i.is_available]
    return min(on_sale or [i.retail_price_fen for i in items], default=None)


def poster_render(
    listing: Any,
    share_url: str,
    creator_name: str,
    *,
    price_fen: int | None = LOOKUP,
    campaign: bool = False,
    image: Any = LOOKUP,
) -> bytes:
    """The poster of LISTING (a storefront Listing) with a QR code of SHARE_URL and the shop's
    name CREATOR_NAME, as PNG bytes. PRICE_FEN (and CAMPAIGN: it is a campaign's price) and
    IMAGE (a ProductImage, or None for none) are looked up when not given."""
    if image is LOOKUP:
        image = main_image(listing)
    if price_fen is LOOKUP:
        price_fen = listing_price_fen(listing)
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    photo = _photo(image)
    if photo is not None:
        poster.paste(photo, (0, 0))
    else:
        draw.rectangle((0, 0, PHOTO - 1, PHOTO - 1), fill=(242, 242, 242))

    y = PHOTO + 20
    price_font = poster_font(56, bold=True)
    price = yuan(price_fen)
    draw.text((MARGIN, y), price, font=price_font, fill=ACCENT)
    if campaign:
        tag_font = poster_font(24)
        x = MARGIN + int(price_font.getlength(price)) + 16
        tag = _("Campaign price")
        box = (x, y + 22, x + int(tag_font.getlength(tag)) + 20, y + 60)
        draw.rounded_rectangle(box, radius=6, outline=ACCENT, width=2)
        draw.text((x + 10, y + 26), tag, font=tag_font, fill=ACCENT)

    title_font = poster_font(34)
    for n, line in enumerate(_wrap(listing.title, title_font, WIDTH - 2 * MARGIN, 2)):
        draw.text((MARGIN, PHOTO + 100 + n * 48), line, font=title_font, fill=INK)
    draw.line((MARGIN, QR_Y - 20, WIDTH - MARGIN, QR_Y - 20), fill=RULE, width=2)

    text_width = QR_X - 2 * MARGIN
    name_font = poster_font(32, bold=True)
    for n, line in enumerate(_wrap(creator_name, name_font, text_width, 2)):
        draw.text((MARGIN, QR_Y + 20 + n * 44), line, font=name_font, fill=INK)
    hint_font, hint = poster_font(24), _("Long-press the QR code to see it")
    for n, line in enumerate(_wrap(hint, hint_font, text_width, 2)):
        draw.text((MARGIN, QR_Y + 130 + n * 34), line, font=hint_font, fill=GREY)

    modules = qr_modules(share_url)
    x0, y0, scale = qr_origin(len(modules))
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                left, top = x0 + c * scale, y0 + r * scale
                draw.rectangle((left, top, left + scale - 1, top + scale - 1), fill="black")

    out = io.BytesIO()
    poster.save(out, "PNG")
    return out.getvalue()
