"""A shop's URLs with its public media served from disk with a year's cache, as S3 behind a CDN
or nginx serves them in production (config/media.py answers only in development)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import re_path
from django.views.static import serve

from config.media import media_path_public
from config.urls_tenant import urlpatterns as shop_urlpatterns


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    if not media_path_public(path, schema=connection.schema_name):
        raise Http404
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


urlpatterns = [re_path(r"^media/(?P<path>.+)$", media), *shop_urlpatterns]
