"""Staff console: the platform view (/console/analytics/)."""

from __future__ import annotations

from django.urls import path

from . import analytics_views as views

urlpatterns = [path("", views.platform_view, name="analytics")]
