"""Shop files land under the shop's own prefix, on disk and on S3 (moto's server, real boto3)."""

from __future__ import annotations

import urllib.request

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db

BUCKET = "vstore-media-test"


@pytest.fixture
def s3_bucket(moto_s3):
    client = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    s3_storage = {
        "BACKEND": "config.storage.ShopS3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": moto_s3,
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "querystring_auth": False,
            "file_overwrite": False,
            "default_acl": "public-read",
        },
    }
    with override_settings(STORAGES={"default": s3_storage, "staticfiles": s3_storage}):
        yield client


def test_file_saved_in_shop_a_lands_under_a_prefix_on_s3(shops, s3_bucket):
    with tenant_context(shops.a):
        name = default_storage.save("original_images/banner.txt", ContentFile(b"shop A banner"))

    assert name == "shop_a/original_images/banner.txt"
    keys = [o["Key"] for o in s3_bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "shop_a/original_images/banner.txt" in keys
    body = s3_bucket.get_object(Bucket=BUCKET, Key=name)["Body"].read()
    assert body == b"shop A banner"


def test_url_computed_from_the_public_schema_fetches_shop_a_file(shops, s3_bucket):
    with tenant_context(shops.a):
        name = default_storage.save("docs/terms.txt", ContentFile(b"A's terms"))
    connection.set_schema_to_public()

    url = default_storage.url(name)

    assert "/shop_a/docs/terms" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"A's terms"


def test_same_upload_name_in_two_shops_gives_two_files(shops, s3_bucket):
    with tenant_context(shops.a):
        name_a = default_storage.save("logo.txt", ContentFile(b"A"))
    with tenant_context(shops.b):
        name_b = default_storage.save("logo.txt", ContentFile(b"B"))

    assert name_a.startswith("shop_a/")
    assert name_b.startswith("shop_b/")
    assert s3_bucket.get_object(Bucket=BUCKET, Key=name_a)["Body"].read() == b"A"
    assert s3_bucket.get_object(Bucket=BUCKET, Key=name_b)["Body"].read() == b"B"


def test_local_disk_storage_prefixes_the_schema_too(shops, tmp_path):
    local = {"BACKEND": "config.storage.ShopFileSystemStorage"}
    with override_settings(MEDIA_ROOT=tmp_path, STORAGES={"default": local, "staticfiles": local}):
        with tenant_context(shops.b):
            name = default_storage.save("photo.txt", ContentFile(b"B photo"))
        connection.set_schema_to_public()
        assert name == "shop_b/photo.txt"
        assert (tmp_path / "shop_b" / "photo.txt").read_bytes() == b"B photo"
        assert default_storage.url(name) == "/media/shop_b/photo.txt"
