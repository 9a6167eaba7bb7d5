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


class OwnerMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.is_superuser


@hooks.register("register_admin_menu_item")
def register_earnings_menu_item() -> MenuItem:
    return OwnerMenuItem(
        _("Earnings"), reverse("payouts_earnings"), icon_name="doc-full", order=280
    )
