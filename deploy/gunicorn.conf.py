"""gunicorn for production: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`."""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: every request is short and DB-bound; persistent DB connections (CONN_MAX_AGE)
# make a worker's connection last across requests.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Workers are recycled now and then (a slow leak cannot grow forever), but rarely: at several
# hundred requests a second, 5,000 meant a restart every few seconds, and each one drops the
# worker's in-memory shop data (core/shop_cache.py). preload_app imports Django and Wagtail once
# in the master, so a recycled worker is a fork, not a two-second boot on a busy core. Safe:
# nothing connects to PostgreSQL or Redis at import time; connections open in each worker.
max_requests = 50000
max_requests_jitter = 5000
preload_app = True
timeout = 30
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
