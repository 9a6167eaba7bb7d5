"""The tenant-aware Celery app.

tenant-schemas-celery stamps every task sent inside a shop's context with that shop's schema and
switches the worker's connection to it before the task runs, so task code never runs in
whatever schema the previous task left behind.
"""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = CeleryApp("vstore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
