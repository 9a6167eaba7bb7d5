"""A coupon's link (/c/<code>/): what the QR code and shared links point at."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("c/<str:code>/", views.coupon_view, name="coupon"),
]
