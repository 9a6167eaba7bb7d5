"""A shop (a creator's subdomain or custom domain): Wagtail admin, documents, pages."""

from __future__ import annotations

from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.views.account import LoginView as WagtailLoginView
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from core.clients import posts_limited
from tenants import views as tenant_views

from .api import shop_api
from .media import media_urlpatterns

urlpatterns = [
    path("account/welcome/<str:token>/", tenant_views.shop_welcome, name="shop-welcome"),
    # The shop admin's password guesses per client (core.clients), before Wagtail's own route.
    path("admin/login/", posts_limited("login")(WagtailLoginView.as_view())),
    path("admin/", include(wagtailadmin_urls)),
    path("api/v1/", shop_api.urls),
    path("documents/", include(wagtaildocs_urls)),
    path("sitemap.xml", sitemap),
    path("files/", include("billing.documents.urls")),
    path("", include("storefront.urls")),
    # Before Wagtail's catch-all, which would answer /media/… with its own 404.
    *media_urlpatterns(),
    path("", include(wagtail_urls)),
]
