"""Supplier portal: fulfilment and returns, included under /supplier/fulfilment/."""

from __future__ import annotations

from django.urls import path

from . import supplier_fulfilment_views as v

# No app_name: the names live in the portal's "supplier" namespace (supplier:fulfilment_…).
urlpatterns = [
    path("", v.queue, name="fulfilment_queue"),
    path("<int:pk>/", v.order_detail, name="fulfilment_order"),
    path("<int:pk>/ship/", v.order_ship, name="fulfilment_ship"),
    path("<int:pk>/deliver/", v.order_deliver, name="fulfilment_deliver"),
    path("returns/", v.returns, name="fulfilment_returns"),
    path("returns/<int:pk>/receive/", v.return_receive, name="fulfilment_return_receive"),
    path("returns/<int:pk>/reject/", v.return_reject, name="fulfilment_return_reject"),
]
