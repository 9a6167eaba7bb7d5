"""A font with Chinese glyphs for posters: Noto Sans CJK SC or WenQuanYi Micro Hei, which
scripts/system-deps.sh installs (Debian: fonts-noto-cjk, fonts-wqy-microhei)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

# (file, face index) where Debian's packages put them; index 2 of Noto's collection is SC.
KNOWN = {
    True: [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ],
    False: [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ],
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _fontconfig_cjk() -> tuple[str, int] | None:
    """The first font fontconfig knows with Simplified Chinese, if fontconfig is there."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, "-f", "%{file}|%{index}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in sorted(out.splitlines()):
        path, _sep, index = line.partition("|")
        if path and Path(path).is_file():
            return path, int(index or 0)
    return None


@lru_cache(maxsize=2)
def cjk_font_file(bold: bool) -> tuple[str, int] | None:
    for path, index in KNOWN[bold]:
        if Path(path).is_file():
            return path, index
    found = _fontconfig_cjk()
    if found is None:
        log.warning(
            "No CJK font found for share posters: Chinese text will not show. Install "
            "fonts-noto-cjk or fonts-wqy-microhei (scripts/system-deps.sh)."
        )
    return found


@lru_cache(maxsize=16)
def poster_font(size: int, bold: bool = False) -> Font:
    """A CJK font of SIZE pixels; Pillow's own font (no Chinese glyphs) when none is installed."""
    found = cjk_font_file(bold)
    if found is not None:
        return ImageFont.truetype(found[0], size, index=found[1])
    return ImageFont.load_default(size)
