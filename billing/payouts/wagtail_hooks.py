"""The creator's earnings page in her shop's Wagtail admin (Wagtail adds its admin-access check)."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from .admin_views import earnings


@hooks.register("register_admin_urls")
def register_earnings_urls() -> list:
    return [path("earnings/", earnings, name="payouts_earnings")]


# Money is the shop owner's: the shop roles (storefront.team.roles) grant this permission. Named
# by string, as billing sits below storefront and imports nothing of it.
VIEW_MONEY = "storefront.view_money"


class PermissionMenuItem(MenuItem):
    """Shown only to holders of PERMISSION (the view checks it again)."""

    def __init__(self, *args, permission: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request) -> bool:
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_menu_item")
def register_earnings_menu_item() -> MenuItem:
    return PermissionMenuItem(
        _("Earnings"),
        reverse("payouts_earnings"),
        icon_name="doc-full",
        order=280,
        permission=VIEW_MONEY,
    )
