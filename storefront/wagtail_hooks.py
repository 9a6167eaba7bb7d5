"""The shop's commerce pages in its Wagtail admin: goods, listings, orders, reviews, the team.

Wagtail adds its admin-access check to every URL; each view also checks the permission of its
area (storefront.team.roles), and each menu item is shown only to those who hold it.
"""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from . import admin_views
from .orders import admin_views as order_admin_views
from .reviews import admin_views as review_admin_views
from .selectors import flagged_item_count
from .sharing import admin_views as sharing_admin_views
from .team import admin_views as team_views
from .team.roles import MANAGE_LISTINGS, MANAGE_REVIEWS, MANAGE_TEAM, VIEW_ORDERS


class PermissionMenuItem(MenuItem):
    """A menu item shown only to holders of PERMISSION (the view checks it again)."""

    def __init__(self, *args, permission: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request) -> bool:
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_urls")
def register_catalog_urls() -> list:
    return [
        path("goods/", admin_views.catalog_index, name="storefront_catalog"),
        path("goods/<int:pk>/", admin_views.catalog_product, name="storefront_catalog_product"),
        path("listings/", admin_views.listings_index, name="storefront_listings"),
        path("listings/<int:pk>/", admin_views.listing_edit, name="storefront_listing_edit"),
        path("orders/", order_admin_views.orders_index, name="storefront_orders"),
        path("orders/<str:number>/", order_admin_views.order_detail, name="storefront_order"),
        path("reviews/", review_admin_views.reviews_index, name="storefront_reviews"),
        path("sharers/", sharing_admin_views.sharers_index, name="storefront_sharers"),
        path("team/", team_views.team_index, name="storefront_team"),
        path("team/<int:pk>/", team_views.member_detail, name="storefront_team_member"),
        path("team/<int:pk>/remove/", team_views.member_remove, name="storefront_team_remove"),
    ]


@hooks.register("register_admin_menu_item")
def register_catalog_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Pick goods"),
        reverse("storefront_catalog"),
        icon_name="list-ul",
        order=250,
        permission=MANAGE_LISTINGS,
    )


@hooks.register("register_admin_menu_item")
def register_listings_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("My listings"),
        reverse("storefront_listings"),
        icon_name="tag",
        order=260,
        permission=MANAGE_LISTINGS,
    )


@hooks.register("register_admin_menu_item")
def register_orders_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Orders"),
        reverse("storefront_orders"),
        icon_name="list-ul",
        order=240,
        permission=VIEW_ORDERS,
    )


@hooks.register("register_admin_menu_item")
def register_reviews_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Reviews"),
        reverse("storefront_reviews"),
        icon_name="pick",
        order=270,
        permission=MANAGE_REVIEWS,
    )


@hooks.register("register_admin_menu_item")
def register_sharers_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Top sharers"),
        reverse("storefront_sharers"),
        icon_name="group",
        order=275,
        permission=VIEW_ORDERS,
    )


@hooks.register("register_admin_menu_item")
def register_team_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Team"), reverse("storefront_team"), icon_name="group", order=290, permission=MANAGE_TEAM
    )


@hooks.register("register_admin_urls")
def register_fans_urls() -> list:
    from .fans import admin_views as fan_views

    return [
        path("fans/", fan_views.fans_index, name="storefront_fans"),
        path("fans/tag/", fan_views.fans_bulk_tag, name="storefront_fans_bulk_tag"),
        path("fans/coupon/", fan_views.fans_coupon_send, name="storefront_fans_coupon"),
        path("fans/export/", fan_views.fans_export_view, name="storefront_fans_export"),
        path("fans/requests/", fan_views.data_requests_index, name="storefront_fan_requests"),
        path("fans/<int:pk>/", fan_views.fan_detail, name="storefront_fan"),
    ]


@hooks.register("register_admin_menu_item")
def register_fans_menu_item() -> MenuItem:
    # Every team member sees the list (contacts masked unless storefront.view_orders).
    return PermissionMenuItem(
        _("Fans"),
        reverse("storefront_fans"),
        icon_name="group",
        order=245,
        permission="wagtailadmin.access_admin",
    )


class ListingPricesPanel(Component):
    """Admin home: listings whose price new supplier terms left outside the bounds."""

    name = "storefront_listing_prices"
    template_name = "storefront/admin/home_panel.html"
    order = 50  # above Wagtail's own panels: these variants cannot sell until fixed

    def get_context_data(self, parent_context: dict | None = None) -> dict:
        return {"flagged": flagged_item_count()}


@hooks.register("construct_homepage_panels")
def add_dashboard_panel(request, panels: list) -> None:
    # The creator's figures and charts (storefront.analytics); money only for view_money.
    from .analytics.dashboard_views import DashboardPanel, dashboard_shown

    if dashboard_shown(request):
        panels.append(DashboardPanel())


@hooks.register("construct_homepage_panels")
def add_listing_prices_panel(request, panels: list) -> None:
    # Prices and the listings page are the owner's: nobody else could act on this panel.
    if request.user.has_perm(MANAGE_LISTINGS):
        panels.append(ListingPricesPanel())
