"""The platform-staff console at /console/ on the platform domain."""

from __future__ import annotations

from django.urls import include, path

from . import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("catalog/", include("console.catalog_urls")),
    path("shops/", include("console.shop_urls")),
    path("payouts/", include("console.payout_urls")),
    path("analytics/", include("console.analytics_urls")),
    path("platform-coupons/", include("console.platform_coupon_urls")),
    path("", include("console.flash_views")),  # shops/<pk>/flash/
]
