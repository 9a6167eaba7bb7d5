"""Visits through a buyer's share link."""

from __future__ import annotations

from django.urls import re_path

from . import views

urlpatterns = [
    # Share codes are letters and digits (sharing.services): anything else is no share link,
    # and a NUL in it reached PostgreSQL (a 500).
    re_path(r"^s/(?P<code>[A-Za-z0-9]{1,32})/$", views.share_visit_view, name="share"),
]
