"""The content site of a shop, as the layer above (cms) provides it.

tenants is the bottom of the shop stack and must not import cms (import-linter's layers), yet
making the template and a shop needs their starter pages, Site and theme. The module named by
VSTORE_SHOP_SITE_MODULE provides them, the way billing reaches storefront through a hook:

    starter_site_ensure() -> None            the template's starter pages (idempotent)
    shop_personalise(*, site_name, hostname, port, theme, admin_username, admin_email) -> None
    site_host_set(*, hostname) -> None       the shop's canonical host
    theme_choices() -> list[tuple[str, str]], DEFAULT_THEME: str
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from django.conf import settings


def shop_site() -> ModuleType:
    return import_module(settings.VSTORE_SHOP_SITE_MODULE)
