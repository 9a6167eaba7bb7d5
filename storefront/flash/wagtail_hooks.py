"""The shop admin's 秒杀 (Flash sales) menu item and pages; only for holders of manage_shop."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from storefront.team.roles import MANAGE_SHOP

from . import admin_views


class FlashMenuItem(MenuItem):
    """Shown only to those who may open the pages (each view checks again)."""

    def is_shown(self, request) -> bool:
        return request.user.has_perm(MANAGE_SHOP)


@hooks.register("register_admin_urls")
def register_flash_urls() -> list:
    return [
        path("flash/", admin_views.flash_index, name="storefront_flash_sales"),
        path("flash/new/", admin_views.flash_new, name="storefront_flash_new"),
        path("flash/<int:pk>/", admin_views.flash_detail, name="storefront_flash_sale"),
        path("flash/<int:pk>/edit/", admin_views.flash_edit, name="storefront_flash_edit"),
        path("flash/<int:pk>/cancel/", admin_views.flash_cancel, name="storefront_flash_cancel"),
    ]


@hooks.register("register_admin_menu_item")
def register_flash_menu_item() -> MenuItem:
    return FlashMenuItem(
        _("Flash sales"), reverse("storefront_flash_sales"), icon_name="time", order=266
    )
