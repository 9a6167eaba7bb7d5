from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from .admin_views import domains


@hooks.register("register_admin_urls")
def register_domain_urls():
    return [path("shop/domains/", domains, name="shop_domains")]


class OwnerMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        # Granted to owners by the shop roles (storefront.team.roles), named by string here.
        return request.user.has_perm("storefront.manage_shop")


@hooks.register("register_settings_menu_item")
def register_domains_menu_item():
    return OwnerMenuItem(_("Domains"), reverse("shop_domains"), icon_name="site", order=900)
