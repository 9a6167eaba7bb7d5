"""Staff console: payout batches (/console/payouts/)."""

from __future__ import annotations

from django.urls import path

from . import payout_views as views

urlpatterns = [
    path("", views.batch_list, name="payout-list"),
    path("new/", views.batch_create, name="payout-batch-create"),
    path("<int:pk>/", views.batch_detail, name="payout-batch"),
    path("<int:pk>/approve/", views.batch_approve, name="payout-approve"),
    path("<int:pk>/cancel/", views.batch_cancel, name="payout-cancel"),
]
