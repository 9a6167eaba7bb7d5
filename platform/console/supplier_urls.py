"""The supplier portal: /supplier/ on the platform domain."""

from __future__ import annotations

from django.urls import include, path

from . import supplier_statement_views
from . import supplier_views as v

app_name = "supplier"

urlpatterns = [
    path("", v.home, name="home"),
    path("register/", v.register, name="register"),
    path("documents/", v.documents, name="documents"),
    path("documents/<int:pk>/file/", v.document_file, name="document_file"),
    path("shipping/", v.shipping, name="shipping"),
    path("products/", v.products, name="products"),
    path("products/new/", v.product_new, name="product_new"),
    path("products/<int:pk>/", v.product_detail, name="product"),
    path("products/<int:pk>/submit/", v.product_submit, name="product_submit"),
    path("products/<int:pk>/active/", v.product_active, name="product_active"),
    path("products/<int:pk>/skus/new/", v.sku_new, name="sku_new"),
    path("products/<int:pk>/images/new/", v.image_add, name="image_add"),
    path("products/<int:pk>/images/<int:image_pk>/remove/", v.image_hide, name="image_hide"),
    path("products/<int:pk>/images/<int:image_pk>/first/", v.image_first, name="image_first"),
    path("skus/<int:pk>/prices/", v.sku_prices, name="sku_prices"),
    path("skus/<int:pk>/stock/", v.sku_stock, name="sku_stock"),
    path("stock/", v.stock, name="stock"),
    path("csv/", v.csv_page, name="csv"),
    path("csv/export.csv", v.csv_export, name="csv_export"),
    path("fulfilment/", include("console.supplier_fulfilment_urls")),
    path("statements/", supplier_statement_views.statements, name="statements"),
    path("earnings/", include("console.supplier_earnings_views")),
    path("api/", include("console.supplier_api_views")),
]
