"""Staff console: platform coupons (/console/platform-coupons/)."""

from __future__ import annotations

from django.urls import path

from . import platform_coupon_views as views

urlpatterns = [
    path("", views.coupon_list, name="platform-coupon-list"),
    path("new/", views.coupon_create, name="platform-coupon-create"),
    path("<int:pk>/", views.coupon_detail, name="platform-coupon"),
    path("<int:pk>/pause/", views.coupon_pause, name="platform-coupon-pause"),
    path("<int:pk>/resume/", views.coupon_resume, name="platform-coupon-resume"),
    path("<int:pk>/end/", views.coupon_end, name="platform-coupon-end"),
]
