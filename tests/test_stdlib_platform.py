"""`platform/` must not hide the standard library's `platform` module (DESIGN.md, Layout)."""

from __future__ import annotations

import subprocess
import sys

import boto3


def test_stdlib_platform_module_is_not_shadowed():
    import platform

    assert platform.system() == "Linux"
    assert not hasattr(platform, "__path__"), "a package named platform is on sys.path"


def test_stdlib_platform_works_in_a_fresh_interpreter_of_the_project():
    out = subprocess.run(
        [sys.executable, "-c", "import platform, config; print(platform.system())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "Linux"


def test_boto3_s3_client_talks_to_s3(moto_s3):
    # botocore builds its user agent from platform.system(); a shadowed module breaks here.
    client = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="stdlib-check")
    assert "stdlib-check" in [b["Name"] for b in client.list_buckets()["Buckets"]]
