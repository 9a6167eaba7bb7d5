"""The creator's catalog pages in her shop's Wagtail admin (Wagtail adds its admin-access check)."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views


@hooks.register("register_admin_urls")
def register_catalog_urls() -> list:
    return [
        path("goods/", admin_views.catalog_index, name="storefront_catalog"),
        path("goods/<int:pk>/", admin_views.catalog_product, name="storefront_catalog_product"),
        path("listings/", admin_views.listings_index, name="storefront_listings"),
        path("listings/<int:pk>/", admin_views.listing_edit, name="storefront_listing_edit"),
    ]


@hooks.register("register_admin_menu_item")
def register_catalog_menu_item() -> MenuItem:
    return MenuItem(_("Pick goods"), reverse("storefront_catalog"), icon_name="list-ul", order=250)


@hooks.register("register_admin_menu_item")
def register_listings_menu_item() -> MenuItem:
    return MenuItem(_("My listings"), reverse("storefront_listings"), icon_name="tag", order=260)
