"""config.settings.base as deployed, with the shop URLconf extended by a bare view."""

from __future__ import annotations

import os

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "storefront_site.urls"
# bench/storefront.py --limit-set-calls: what django-tenants' option (one SET search_path per
# request and schema instead of one before every query) would change; not set in production yet.
TENANT_LIMIT_SET_CALLS = os.environ.get("BENCH_TENANT_LIMIT_SET_CALLS") == "1"
