"""Returns and the invoice request, from the buyer's order page."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("orders/<str:number>/return/", views.return_request_view, name="order_return"),
    path(
        "orders/<str:number>/return/<int:case_id>/parcel/",
        views.return_shipment_view,
        name="order_return_parcel",
    ),
    path("orders/<str:number>/invoice/", views.invoice_request_view, name="order_invoice"),
]
