"""A shop's buyer pages (included before Wagtail's catch-all in config/urls_tenant.py)."""

from __future__ import annotations

from django.urls import path, re_path

from . import account_views, aftersale_views, views

app_name = "storefront"

urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/", views.cart_add_view, name="cart_add"),
    path("checkout/", views.checkout_view, name="checkout"),
    path("checkout/quote/", views.checkout_quote_view, name="checkout_quote"),
    path("orders/lookup/", views.order_lookup_view, name="order_lookup"),
    path("orders/<str:number>/", views.order_detail_view, name="order_detail"),
    path("orders/<str:number>/pay/", views.order_pay_view, name="order_pay"),
    path("orders/<str:number>/scan/", views.order_scan_view, name="order_scan"),
    path("orders/<str:number>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("orders/<str:number>/return/", aftersale_views.return_request_view, name="order_return"),
    path(
        "orders/<str:number>/return/<int:case_id>/parcel/",
        aftersale_views.return_shipment_view,
        name="order_return_parcel",
    ),
    path(
        "orders/<str:number>/invoice/", aftersale_views.invoice_request_view, name="order_invoice"
    ),
    path("orders/<str:number>/review/", aftersale_views.review_create_view, name="order_review"),
    # Share codes are letters and digits (storefront.sharing): anything else is no share link,
    # and a NUL in it reached PostgreSQL (a 500).
    re_path(r"^s/(?P<code>[A-Za-z0-9]{1,32})/$", views.share_visit_view, name="share"),
    path("me/code/", account_views.code_request_view, name="code_request"),
    path("me/verify/", account_views.code_verify_view, name="code_verify"),
    path("me/signout/", account_views.signout_view, name="signout"),
]
