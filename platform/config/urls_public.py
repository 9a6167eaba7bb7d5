"""The platform site (the bare platform domain): landing page, staff admin, API."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core.clients import posts_limited
from storefront.wechat import views as wechat_views
from tenants import views as tenant_views

from . import landing
from .api import api, supplier_api
from .media import media_urlpatterns

urlpatterns = [
    path("", tenant_views.platform_home, name="platform-home"),
    path("signup/", tenant_views.signup, name="signup"),
    # Password guesses per client (core.clients): the platform login and Django admin's.
    path("accounts/login/", posts_limited("login")(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/landing/", landing.login_landing, name="login_landing"),
    path("console/", include("console.urls")),
    path("supplier/", include("console.supplier_urls")),
    path("admin/login/", posts_limited("login")(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/v1/supplier/", supplier_api.urls),
    path("api/", api.urls),
    path("pay/", include("billing.urls")),
    path("files/", include("billing.documents.urls")),
    # WeChat's one authorisation callback domain: on to the shop the trip came from.
    path("wx/oauth/relay", wechat_views.oauth_relay_view, name="wx_oauth_relay"),
    *media_urlpatterns(),  # development only: the view answers 404 unless DEBUG with local disk
]
