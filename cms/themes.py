"""Shop themes: design tokens the shop templates turn into CSS custom properties.

Every accent is dark enough for white text on it and for accent text on the theme's background
and surface (WCAG AA, 4.5:1): tests/test_design.py computes it from these tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Theme:
    label: str | Promise  # translated lazily, in the language of whoever reads the choices
    accent: str
    ink: str
    background: str
    surface: str
    font: str


CJK_SANS = '"PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", system-ui, sans-serif'
CJK_SERIF = '"Songti SC", "Noto Serif CJK SC", "SimSun", Georgia, serif'

THEMES: dict[str, Theme] = {
    "blossom": Theme(
        _("Blossom (warm pink)"), "#c2255c", "#2b2b2b", "#fffafb", "#fdeef3", CJK_SANS
    ),
    "ink": Theme(_("Ink (classic serif)"), "#1f3a5f", "#1b1b1b", "#fbfaf7", "#f0ede4", CJK_SERIF),
    "meadow": Theme(
        _("Meadow (fresh green)"), "#237a35", "#233126", "#f8fcf8", "#e6f4e8", CJK_SANS
    ),
}
DEFAULT_THEME = "blossom"


def theme_choices() -> list[tuple[str, str]]:
    return [(key, str(theme.label)) for key, theme in THEMES.items()]


def theme_get(key: str) -> Theme:
    return THEMES.get(key) or THEMES[DEFAULT_THEME]
