from __future__ import annotations

from django.urls import path

from . import shop_views as views

urlpatterns = [
    path("", views.shop_list, name="shop-list"),
    path("<int:pk>/", views.shop_detail, name="shop-detail"),
    path("<int:pk>/suspend/", views.shop_suspend, name="shop-suspend"),
    path("<int:pk>/resume/", views.shop_resume, name="shop-resume"),
    path("<int:pk>/export/", views.shop_export, name="shop-export"),
    path("<int:pk>/delete/", views.shop_delete, name="shop-delete"),
    path("<int:pk>/domains/<int:claim_pk>/verify/", views.claim_verify, name="claim-verify"),
    path("exports/<int:event_pk>/", views.export_download, name="export-download"),
]
