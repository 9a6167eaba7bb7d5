"""The shop admin's 团购 (Group buys) menu item and pages; only for holders of manage_shop."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from storefront.team.roles import MANAGE_SHOP

from . import admin_views


class GroupBuysMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm(MANAGE_SHOP)


@hooks.register("register_admin_urls")
def register_groupbuy_urls() -> list:
    return [
        path("groupbuys/", admin_views.groupbuys_index, name="storefront_groupbuys"),
        path("groupbuys/new/", admin_views.groupbuy_new, name="storefront_groupbuy_new"),
        path("groupbuys/<int:pk>/", admin_views.groupbuy_edit, name="storefront_groupbuy_edit"),
    ]


@hooks.register("register_admin_menu_item")
def register_groupbuys_menu_item() -> MenuItem:
    return GroupBuysMenuItem(
        _("Group buys"), reverse("storefront_groupbuys"), icon_name="group", order=266
    )
