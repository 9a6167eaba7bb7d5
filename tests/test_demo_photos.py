"""The demo catalog's product photos (catalog/demo_photos.py): a picture per product, not one
flat colour that reads as a broken image."""

from __future__ import annotations

import io

from PIL import Image

from catalog.demo_photos import demo_photo


def _image(title: str) -> Image.Image:
    return Image.open(io.BytesIO(demo_photo(title).read()))


def test_each_product_gets_its_own_picture_with_its_name_the_same_every_time():
    bottle, pan = _image("宽口径玻璃奶瓶 240ml"), _image("不粘煎锅 28cm")
    assert bottle.size == (600, 600) and bottle.format == "PNG"
    assert bottle.tobytes() != pan.tobytes()
    # Background, package and the name's anti-aliased strokes: far more than one colour.
    assert len(bottle.getcolors(maxcolors=100_000) or []) > 10
    assert _image("宽口径玻璃奶瓶 240ml").tobytes() == bottle.tobytes()
