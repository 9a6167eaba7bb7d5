"""Signed download links, on the platform site and on shop hosts."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path(
        "<str:kind>/<int:pk>/<str:token>/",
        views.download,
        name="download",
    ),
]
