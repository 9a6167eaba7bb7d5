"""A listing's share poster (beside its product page, which the shop page routes)."""

from __future__ import annotations

from django.urls import re_path

from . import views

urlpatterns = [
    # Digits only (a NUL or a huge number never reaches PostgreSQL: not this route, a 404).
    re_path(r"^p/(?P<listing_id>[0-9]{1,9})/poster\.png$", views.poster_view, name="poster"),
]
