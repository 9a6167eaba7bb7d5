"""Uploaded files (MEDIA_URL) served by Django itself, in development only.

In production S3 (or nginx) serves media and this view answers 404. In development (DEBUG with
local disk storage) `make run` has nothing else that serves /media/, so product photos, article
images and review photos would be broken everywhere.

Only files that every shop page shows anyway are served, by an allow-list of stored-name
prefixes: private files also live under MEDIA_ROOT (supplier licences, statements and invoices,
Wagtail documents with their own privacy checks) and must never be reachable here. On a shop's
host only that shop's own files (its schema's prefix, config.storage) and the shared catalog's
product photos are served, so one shop's host never hands out another shop's files.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.static import serve

# Inside a schema's prefix: Wagtail images and their renditions, buyers' review photos.
SHOP_PUBLIC_DIRS = ("original_images/", "images/", "reviews/")
# Catalog product photos are saved from the platform's console (the public schema's prefix)
# and shown on every shop's cards and product pages.
CATALOG_PUBLIC = "public/catalog/products/"


def media_path_public(path: str, *, schema: str) -> bool:
    """Whether PATH (relative to MEDIA_ROOT) may be served on a host of SCHEMA."""
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts) or "\\" in path:
        return False
    if path.startswith(CATALOG_PUBLIC) and "/images/" in path[len(CATALOG_PUBLIC) :]:
        return True
    return any(path.startswith(f"{schema}/{d}") for d in SHOP_PUBLIC_DIRS)


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    storage = storages["default"]
    if not settings.DEBUG or not isinstance(storage, FileSystemStorage):
        raise Http404
    # django-tenants' connection carries the schema of the host this request came in on.
    if not media_path_public(path, schema=getattr(connection, "schema_name", "")):
        raise Http404
    return serve(request, path, document_root=str(storage.location))


def media_urlpatterns() -> list:
    """The route for MEDIA_URL when it is a path on this site (not an S3 or CDN address)."""
    import re

    from django.urls import re_path

    prefix = settings.MEDIA_URL
    if not prefix.startswith("/") or prefix.startswith("//") or prefix == "/":
        return []
    return [re_path(rf"^{re.escape(prefix.lstrip('/'))}(?P<path>.+)$", media_serve, name="media")]
