"""The shop admin's 优惠券 (Coupons) menu item and pages; only for holders of manage_shop."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from storefront.team.roles import MANAGE_SHOP

from . import admin_views


class CouponsMenuItem(MenuItem):
    """Shown only to those who may open the pages (each view checks again)."""

    def is_shown(self, request) -> bool:
        return request.user.has_perm(MANAGE_SHOP)


@hooks.register("register_admin_urls")
def register_coupon_urls() -> list:
    return [
        path("coupons/", admin_views.coupons_index, name="storefront_coupons"),
        path("coupons/new/", admin_views.coupon_new, name="storefront_coupon_new"),
        path("coupons/<int:pk>/", admin_views.coupon_detail, name="storefront_coupon"),
        path("coupons/<int:pk>/edit/", admin_views.coupon_edit, name="storefront_coupon_edit"),
        path(
            "coupons/<int:pk>/<slug:action>/",
            admin_views.coupon_action,
            name="storefront_coupon_action",
        ),
    ]


@hooks.register("register_admin_menu_item")
def register_coupons_menu_item() -> MenuItem:
    return CouponsMenuItem(_("Coupons"), reverse("storefront_coupons"), icon_name="tag", order=265)
