"""The buyer's cart, checkout and order pages."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/", views.cart_add_view, name="cart_add"),
    path("checkout/", views.checkout_view, name="checkout"),
    path("checkout/quote/", views.checkout_quote_view, name="checkout_quote"),
    path("orders/lookup/", views.order_lookup_view, name="order_lookup"),
    path("orders/<str:number>/", views.order_detail_view, name="order_detail"),
    path("orders/<str:number>/pay/", views.order_pay_view, name="order_pay"),
    path("orders/<str:number>/scan/", views.order_scan_view, name="order_scan"),
    path("orders/<str:number>/wxpay/", views.order_wxpay_view, name="order_wxpay"),
    path(
        "orders/<str:number>/wxpay/standin/",
        views.order_wxpay_standin_view,
        name="order_wxpay_standin",
    ),
    path("orders/<str:number>/cancel/", views.order_cancel_view, name="order_cancel"),
]
