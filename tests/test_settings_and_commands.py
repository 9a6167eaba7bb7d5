"""Start-up refuses bad configuration by name; the shop command works and explains failures."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django_tenants.utils import schema_exists

from tenants.models import Tenant


def settings_error(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    return result.stderr


def test_a_malformed_variable_stops_start_up_naming_it():
    assert "DATABASE_CONN_MAX_AGE" in settings_error(DATABASE_CONN_MAX_AGE="ten minutes")
    assert "VSTORE_POOL_SIZE" in settings_error(VSTORE_POOL_SIZE="-x")
    assert "DJANGO_DEBUG" in settings_error(DJANGO_DEBUG="perhaps")


def test_production_start_up_requires_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DJANGO_DEBUG": "0"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_create_shop_command_opens_a_shop(shops, capsys):
    call_command("create_shop", "cmd-shop", name="命令行小店")

    assert "cmd-shop.localhost" in capsys.readouterr().out
    assert Tenant.objects.get(schema_name="shop_cmd_shop").name == "命令行小店"
    assert schema_exists("shop_cmd_shop")


@pytest.mark.django_db
def test_create_shop_command_explains_a_taken_or_bad_name(shops):
    with pytest.raises(CommandError, match="已被占用"):  # zh-hans by default
        call_command("create_shop", "a")
    with translation.override("en"), pytest.raises(CommandError, match="lower-case"):
        call_command("create_shop", "Bad_Name")
