"""A buyer's review, from her order page."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("orders/<str:number>/review/", views.review_create_view, name="order_review"),
]
