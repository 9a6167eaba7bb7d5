"""Routes of groupbuy (included in the storefront namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("groupbuy/<int:pk>/", views.groupbuy_view, name="groupbuy"),
    path("groupbuy/<int:pk>/state/", views.groupbuy_state_view, name="groupbuy_state"),
    path("groupbuy/team/<str:code>/", views.team_view, name="groupbuy_team"),
    path(
        "groupbuy/orders/<str:number>/cancel/",
        views.member_cancel_view,
        name="groupbuy_member_cancel",
    ),
]
