"""The shop admin's API (开放接口) menu item and pages; owners only."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views


class ApiMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.is_owner(request.user)


@hooks.register("register_admin_urls")
def register_shopapi_urls() -> list:
    return [
        path("api/", admin_views.api_index, name="shopapi_index"),
        path("api/tokens/new/", admin_views.token_new, name="shopapi_token_new"),
        path("api/tokens/<int:pk>/revoke/", admin_views.token_revoke, name="shopapi_token_revoke"),
        path("api/webhooks/new/", admin_views.webhook_new, name="shopapi_webhook_new"),
        path(
            "api/webhooks/<int:pk>/<slug:action>/",
            admin_views.webhook_action,
            name="shopapi_webhook_action",
        ),
        path(
            "api/deliveries/<int:pk>/resend/",
            admin_views.delivery_resend,
            name="shopapi_delivery_resend",
        ),
    ]


@hooks.register("register_admin_menu_item")
def register_shopapi_menu_item() -> MenuItem:
    return ApiMenuItem(_("API"), reverse("shopapi_index"), icon_name="code", order=900)
