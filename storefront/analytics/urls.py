"""The beacon's route (at the shop's root: /a/e), in the storefront namespace."""

from __future__ import annotations

from django.urls import path

from .views import beacon_view

urlpatterns = [path("a/e", beacon_view, name="analytics_beacon")]
