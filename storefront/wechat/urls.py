"""WeChat's silent authorisation comes back here; its development stand-in (DEBUG only)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("wx/oauth/callback", views.oauth_callback_view, name="wx_oauth_callback"),
    path("wx/dev/authorize", views.dev_authorize_view, name="wx_dev_authorize"),
]
