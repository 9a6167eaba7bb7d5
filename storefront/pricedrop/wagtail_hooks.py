"""The shop admin's 降价拍 (Share price drops) menu item and pages; only for manage_shop."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from storefront.team.roles import MANAGE_SHOP

from . import admin_views


class PriceDropsMenuItem(MenuItem):
    """Shown only to those who may open the pages (each view checks again)."""

    def is_shown(self, request) -> bool:
        return request.user.has_perm(MANAGE_SHOP)


@hooks.register("register_admin_urls")
def register_pricedrop_urls() -> list:
    return [
        path("price-drops/", admin_views.pricedrops_index, name="storefront_pricedrops"),
        path("price-drops/new/", admin_views.pricedrop_new, name="storefront_pricedrop_new"),
        path("price-drops/<int:pk>/", admin_views.pricedrop_detail, name="storefront_pricedrop"),
        path(
            "price-drops/<int:pk>/edit/",
            admin_views.pricedrop_edit,
            name="storefront_pricedrop_edit",
        ),
        path(
            "price-drops/<int:pk>/end/",
            admin_views.pricedrop_end_view,
            name="storefront_pricedrop_end",
        ),
    ]


@hooks.register("register_admin_menu_item")
def register_pricedrops_menu_item() -> MenuItem:
    return PriceDropsMenuItem(
        _("Share price drops"), reverse("storefront_pricedrops"), icon_name="tag", order=267
    )
