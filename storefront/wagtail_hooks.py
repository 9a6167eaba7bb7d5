"""The creator's catalog pages in her shop's Wagtail admin (Wagtail adds its admin-access check)."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from . import admin_views, order_admin_views
from .selectors import flagged_item_count


@hooks.register("register_admin_urls")
def register_catalog_urls() -> list:
    return [
        path("goods/", admin_views.catalog_index, name="storefront_catalog"),
        path("goods/<int:pk>/", admin_views.catalog_product, name="storefront_catalog_product"),
        path("listings/", admin_views.listings_index, name="storefront_listings"),
        path("listings/<int:pk>/", admin_views.listing_edit, name="storefront_listing_edit"),
        path("orders/", order_admin_views.orders_index, name="storefront_orders"),
        path("orders/<str:number>/", order_admin_views.order_detail, name="storefront_order"),
        path("reviews/", order_admin_views.reviews_index, name="storefront_reviews"),
    ]


@hooks.register("register_admin_menu_item")
def register_catalog_menu_item() -> MenuItem:
    return MenuItem(_("Pick goods"), reverse("storefront_catalog"), icon_name="list-ul", order=250)


@hooks.register("register_admin_menu_item")
def register_listings_menu_item() -> MenuItem:
    return MenuItem(_("My listings"), reverse("storefront_listings"), icon_name="tag", order=260)


@hooks.register("register_admin_menu_item")
def register_orders_menu_item() -> MenuItem:
    return MenuItem(_("Orders"), reverse("storefront_orders"), icon_name="list-ul", order=240)


@hooks.register("register_admin_menu_item")
def register_reviews_menu_item() -> MenuItem:
    return MenuItem(_("Reviews"), reverse("storefront_reviews"), icon_name="pick", order=270)


class ListingPricesPanel(Component):
    """Admin home: listings whose price new supplier terms left outside the bounds."""

    name = "storefront_listing_prices"
    template_name = "storefront/admin/home_panel.html"
    order = 50  # above Wagtail's own panels: these variants cannot sell until fixed

    def get_context_data(self, parent_context: dict | None = None) -> dict:
        return {"flagged": flagged_item_count()}


@hooks.register("construct_homepage_panels")
def add_listing_prices_panel(request, panels: list) -> None:
    panels.append(ListingPricesPanel())
