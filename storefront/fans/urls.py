"""A returning fan signs in with a code sent to her mobile or e-mail; her account page (我的)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.account_view, name="account"),
    path("me/code/", views.code_request_view, name="code_request"),
    path("me/verify/", views.code_verify_view, name="code_verify"),
    path("me/signout/", views.signout_view, name="signout"),
]
