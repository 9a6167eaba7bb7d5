"""The staff console is for platform staff only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_console_sends_anonymous_visitors_to_log_in(shops, shop_client):
    response = shop_client("localhost").get("/console/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_console_refuses_a_logged_in_non_staff_user(shops, shop_client):
    get_user_model().objects.create_user("fan", password="pw-123456-x")
    client = shop_client("localhost")
    client.login(username="fan", password="pw-123456-x")

    assert client.get("/console/").status_code == 302


def test_console_shows_staff_the_shop_count(shops, shop_client):
    get_user_model().objects.create_user("ops", password="pw-123456-x", is_staff=True)
    client = shop_client("localhost")
    client.login(username="ops", password="pw-123456-x")

    expected = Tenant.objects.filter(is_template=False).exclude(schema_name="public").count()

    response = client.get("/console/")

    assert response.status_code == 200
    assert expected >= 2
    assert f"{expected} 家店铺" in response.text
