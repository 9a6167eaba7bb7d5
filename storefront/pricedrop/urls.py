"""Routes of pricedrop (included in the storefront namespace)."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from . import views

# Ids of at most 9 digits: a longer one is no campaign (and never an out-of-range query).
ID = r"(?P<pk>[1-9][0-9]{0,8})"

urlpatterns: list[URLPattern] = [
    re_path(rf"^drop/{ID}/$", views.pricedrop_view, name="pricedrop"),
    # Share codes are letters and digits (sharing.services): nothing else reaches the database.
    re_path(
        rf"^drop/{ID}/s/(?P<code>[A-Za-z0-9]{{1,32}})/$",
        views.pricedrop_share_view,
        name="pricedrop_share",
    ),
    re_path(rf"^drop/{ID}/live/$", views.pricedrop_live_view, name="pricedrop_live"),
    re_path(rf"^drop/{ID}/buy/$", views.pricedrop_buy_view, name="pricedrop_buy"),
]
