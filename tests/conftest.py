"""Shared fixtures: the template and two shops made once per session, real services around them."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from tenants.provisioning import template_ensure
from tenants.services import platform_ensure, shop_create

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Shops:
    a: Tenant
    b: Tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, plus the platform tenant and the shop template (migrated once)."""
    with django_db_blocker.unblock():
        platform_ensure()
        template_ensure()


@pytest.fixture(scope="session")
def shops(django_db_setup, django_db_blocker) -> Shops:
    """Two committed shops, a.localhost and b.localhost, cloned from the template."""
    with django_db_blocker.unblock():
        made = {}
        for sub in ("a", "b"):
            tenant = Tenant.objects.filter(schema_name=f"shop_{sub}").first()
            made[sub] = tenant or shop_create(name=f"Shop {sub.upper()}", subdomain=sub)
    return Shops(a=made["a"], b=made["b"])


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    # The tenant middleware leaves the connection on the last shop a test client visited.
    yield
    connection.set_schema_to_public()


@pytest.fixture
def shop_client() -> type[Client]:
    """Client(host) for a shop's host name: shop_client("a.localhost").get("/")."""

    class HostClient(Client):
        def __init__(self, host: str, **kwargs):
            super().__init__(HTTP_HOST=host, **kwargs)

    return HostClient


def database_url_for_children() -> str:
    """DATABASE_URL of the test database, for processes the tests start (Celery worker, server)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = quote(s["HOST"] or "", safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(shops) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the test database and the test Redis."""
    env = dict(os.environ, DATABASE_URL=database_url_for_children())
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "warning"],
        env=env,
        cwd=ROOT,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's S3 in server mode on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


# --- catalog ------------------------------------------------------------------------------------


@pytest.fixture
def catalog_media(tmp_path):
    """Uploads go to a throwaway local directory (schema-prefixed like every upload)."""
    from django.test import override_settings

    local = {"BACKEND": "config.storage.ShopFileSystemStorage"}
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(MEDIA_ROOT=tmp_path, STORAGES={"default": local, "staticfiles": static}):
        yield tmp_path


@pytest.fixture
def catalog_s3(moto_s3):
    """Uploads go to a fresh bucket on moto's S3 server; yields (boto3 client, bucket name)."""
    import uuid

    import boto3
    from django.test import override_settings

    bucket = f"catalog-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    s3 = {
        "BACKEND": "config.storage.ShopS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": moto_s3,
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={"default": s3, "staticfiles": static}):
        yield client, bucket


# --- payments (billing) -------------------------------------------------------------------------


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access without a wrapping transaction, for tests that need other threads or
    processes to see their rows. Unlike pytest-django's `transactional_db` it does not flush the
    database afterwards (which would empty the tenants tables under the session's shops): it
    deletes the billing rows it made instead.
    """
    from billing.models import Payment, PaymentNotification, Refund, SandboxTrade

    with django_db_blocker.unblock():
        yield
        for model in (PaymentNotification, Refund, Payment, SandboxTrade):
            model.objects.all().delete()


@pytest.fixture
def platform_server(committed_db) -> Iterator[str]:
    """This Django project served over HTTP on loopback in a thread; yields http://localhost:PORT.

    Requests for "localhost" reach the platform site (urls_public), as they do in `make run`.
    """
    import threading

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def catalog_english():
    """Messages in the source language, so assertions do not depend on the zh-hans catalog."""
    from django.test import override_settings
    from django.utils import translation

    with override_settings(LANGUAGE_CODE="en"), translation.override("en"):
        yield


_creator_seq = itertools.count()


@pytest.fixture
def creator(shops, shop_client):
    """A logged-in Wagtail admin client for each shop: creator("a")."""

    class PublicAfterClient(shop_client):
        # The tenant middleware leaves the connection on the shop; the catalog services the
        # test calls next belong to the public schema, as they do in the supplier portal.
        def request(self, **request):
            try:
                return super().request(**request)
            finally:
                connection.set_schema_to_public()

    def login(sub: str):
        shop = getattr(shops, sub)
        with tenant_context(shop):
            user = get_user_model().objects.create_superuser(
                f"creator{next(_creator_seq)}", password="pw-creator-12345"
            )
            client = PublicAfterClient(f"{sub}.localhost")
            client.force_login(user)
        return client

    return login
