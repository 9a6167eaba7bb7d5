"""The platform site (the bare platform domain): landing page, staff admin, API."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tenants import views as tenant_views

from .api import api

urlpatterns = [
    path("", tenant_views.platform_home, name="platform-home"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
