from __future__ import annotations

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("notify/<slug:provider_name>/", views.payment_notify, name="payment-notify"),
    path("sandbox/<slug:out_trade_no>/", views.sandbox_pay, name="sandbox-pay"),
]
