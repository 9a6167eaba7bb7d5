"""The creator's statements in her shop's Wagtail admin (Wagtail adds its admin-access check)."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views


@hooks.register("register_admin_urls")
def register_statement_urls() -> list:
    return [path("statements/", views.shop_statements, name="documents_shop_statements")]


@hooks.register("register_admin_menu_item")
def register_statements_menu_item() -> MenuItem:
    return MenuItem(
        _("Statements"), reverse("documents_shop_statements"), icon_name="doc-full", order=280
    )
