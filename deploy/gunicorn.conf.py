"""gunicorn for production: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`."""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: every request is short and DB-bound; persistent DB connections (CONN_MAX_AGE)
# make a worker's connection last across requests.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
max_requests = 5000
max_requests_jitter = 500
timeout = 30
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
