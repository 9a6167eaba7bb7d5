"""Staff console for the catalog: /console/catalog/."""

from __future__ import annotations

from django.urls import path

from . import catalog_views as v

app_name = "catalog"

urlpatterns = [
    path("", v.queue, name="queue"),
    path("products/", v.products, name="products"),
    path("products/<int:pk>/", v.product, name="product"),
    path("products/<int:pk>/review/", v.review_start, name="review_start"),
    path("products/<int:pk>/decide/", v.review_decide, name="review_decide"),
    path("products/<int:pk>/suspend/", v.suspend, name="suspend"),
    path("products/<int:pk>/feature/", v.feature, name="feature"),
    path("suppliers/", v.suppliers, name="suppliers"),
    path("suppliers/<int:pk>/", v.supplier, name="supplier"),
    path("documents/<int:pk>/", v.document_file, name="document_file"),
    path("categories/", v.categories, name="categories"),
    path("categories/<int:pk>/", v.category, name="category"),
    path("price-changes/", v.price_changes, name="price_changes"),
    path("price-changes/<int:pk>/", v.price_change_decide, name="price_change_decide"),
    path("image-changes/", v.image_changes, name="image_changes"),
    path("image-changes/<int:pk>/", v.image_change_decide, name="image_change_decide"),
    path("audit/", v.audit, name="audit"),
]
