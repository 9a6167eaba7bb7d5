"""The WeChat share config endpoint of a shop's pages."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("wx/jsconfig", views.jsconfig_view, name="wx_jsconfig")]
