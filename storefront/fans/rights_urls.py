"""A fan's data rights, posted from her account page (我的)."""

from __future__ import annotations

from django.urls import path

from . import rights_views

urlpatterns = [
    path("me/data/download/", rights_views.data_download_view, name="fan_data_download"),
    path("me/data/delete/", rights_views.data_delete_view, name="fan_data_delete"),
    path(
        "me/data/delete/withdraw/",
        rights_views.data_delete_withdraw_view,
        name="fan_data_delete_withdraw",
    ),
]
