"""Test settings: the same real services as production, tuned for a fast, repeatable suite."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("VSTORE_CACHE_PREFIX", "vstore-test")
# The test servers speak plain http (production's HTTPS settings: tests/test_deploy_settings.py).
os.environ.setdefault("VSTORE_HTTPS", "0")

from .base import *  # noqa: F403

# Tests open and close many connections across threads and a Celery worker process; a pooled
# connection kept by a finished thread would block DROP DATABASE at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_AUTOREFRESH = True
VSTORE_POOL_SIZE = 0  # tests fill the warm pool explicitly, so no refill races a test
# Tests read pages right after changing what they show; the page cache's tests turn it on.
VSTORE_PAGE_CACHE_SECONDS = 0
VSTORE_SHOP_DATA_CACHE_SECONDS = 0
# The suite signs up, logs in, looks orders up and orders as one buyer from one address
# (127.0.0.1) far more often than a person would; the limits' own tests (tests/test_limits_*.py,
# tests/test_ratelimit_*.py) put the production figures back.
VSTORE_RATES = {name: "100000/h" for name in VSTORE_RATES}  # noqa: F405
VSTORE_ORDER_UNPAID_PER_FAN = 1000
VSTORE_ORDER_UNPAID_PER_CLIENT = 1000
# Tests pay through the sandbox provider (production settings refuse it: see the payments block).
VSTORE_PAYMENTS_SANDBOX = True
# Webhook tests deliver to a receiver on loopback (production refuses private addresses).
VSTORE_WEBHOOK_ALLOW_PRIVATE = True
# django-tenants sends `SET search_path` before every query by default: two round trips per
# query, and the suite is mostly query latency (a profile of the full run: a third of its time
# was those SETs; half of the stateful money test's). With this option it sends one when the
# schema changes (set_tenant, tenant_context, the tenant middleware) and again after a rollback,
# a savepoint rollback or a new connection, which discard the SET; the queries then run on the
# same schema as before. Something that moved the search_path behind django-tenants' back would
# make a test fail here rather than pass, so the suite is not weakened. Production does not set
# it yet (bench/storefront.py --limit-set-calls measures what it would change there);
# VSTORE_TEST_EVERY_SET=1 runs the suite with production's SET before every query.
TENANT_LIMIT_SET_CALLS = os.environ.get("VSTORE_TEST_EVERY_SET", "") != "1"
