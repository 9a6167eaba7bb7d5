"""The demo catalog's product photos: a picture per product, drawn at seeding time.

A solid square of one colour for every product read as a broken image on the demo's shop pages.
Each photo here has its own colour (from the title), a package shape and the product's name, in
the CJK font the system packages install (scripts/system-deps.sh); without that font the name is
left out rather than drawn as boxes.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
# Soft backgrounds and a deeper shade of each for the package.
PALETTE = (
    ((253, 236, 240), (194, 37, 92)),
    ((231, 245, 233), (35, 122, 53)),
    ((232, 241, 252), (34, 100, 170)),
    ((255, 243, 224), (196, 110, 20)),
    ((240, 235, 250), (103, 65, 170)),
    ((228, 246, 246), (20, 120, 120)),
)


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    for path in FONTS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return None


def demo_photo(title: str, size: int = 600) -> SimpleUploadedFile:
    """A PNG photo of the product TITLE, the same every time for the same title."""
    digest = hashlib.sha256(title.encode()).digest()
    background, ink = PALETTE[digest[0] % len(PALETTE)]
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    box = (size * 0.28, size * 0.18, size * 0.72, size * 0.62)
    draw.rounded_rectangle(box, radius=size // 20, fill=ink)
    draw.rectangle((size * 0.28, size * 0.28, size * 0.72, size * 0.31), fill=background)
    font = _font(size // 14)
    if font is not None:
        name = title if len(title) <= 12 else title[:11] + "…"
        width = draw.textlength(name, font=font)
        draw.text(((size - width) / 2, size * 0.72), name, font=font, fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")
