"""Rate limits that work behind the proxy: who the client is, atomic counts, 429 pages."""

from __future__ import annotations

import random
import re
import secrets
import threading

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from config.settings import base as production
from core.clients import client_address, client_bucket
from storefront.fans.codes import TRIES, CodesLimited, code_request, code_verify

pytestmark = pytest.mark.usefixtures("catalog_english", "production_rates")

PROXY = "10.0.0.5"


@pytest.fixture
def production_rates(settings):
    # The suite's settings raise every rate (one address, many tests): put the real ones back.
    settings.VSTORE_RATES = dict(production.VSTORE_RATES)


def new_address() -> str:
    """A client address no earlier test or run has counted (the test Redis outlives a run)."""
    return f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"


def meta(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


# --- who the client is --------------------------------------------------------------------------


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.VSTORE_TRUSTED_PROXIES = []
    assert client_address(meta("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(settings):
    settings.VSTORE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(meta(PROXY, "1.2.3.4")) == "1.2.3.4"
    # Whatever the client wrote itself (left) is never believed, only what our proxies added.
    assert client_address(meta(PROXY, "6.6.6.6, 1.2.3.4")) == "1.2.3.4"
    assert client_address(meta(PROXY, "1.2.3.4, 10.0.0.7")) == "1.2.3.4"
    assert client_address(meta(PROXY, "not-an-ip, 1.2.3.4")) == "1.2.3.4"
    # Broken proxy chain: the last hop we know stands for the client.
    assert client_address(meta(PROXY, "1.2.3.4, junk")) == PROXY
    assert client_address(meta(PROXY, "")) == PROXY
    assert client_address(meta(PROXY, "2001:db8::1")) == "2001:db8::1"


def test_a_client_that_is_not_a_trusted_proxy_cannot_spoof_its_address(settings):
    settings.VSTORE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(meta("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_ipv6_clients_are_counted_per_64(settings):
    settings.VSTORE_TRUSTED_PROXIES = []
    one = client_bucket(meta("2001:db8:1:2:aaaa::1"))
    other = client_bucket(meta("2001:db8:1:2:bbbb::9"))
    assert one == other == "2001:db8:1:2::"
    assert client_bucket(meta("192.0.2.1")) == "192.0.2.1"


def test_a_malformed_trusted_proxies_setting_stops_start_up():
    from core.clients import trusted_networks_parse

    with pytest.raises(ValueError, match="not-a-network"):
        trusted_networks_parse(["10.0.0.0/8", "not-a-network"])


# --- order lookup -------------------------------------------------------------------------------


def _lookup(client, *, via_proxy: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if via_proxy is not None:
        extra["HTTP_X_FORWARDED_FOR"] = via_proxy
    return client.post(
        "/orders/lookup/", {"number": "2601010000ABCDEF", "phone": "13900000000"}, **extra
    )


@pytest.mark.django_db
def test_behind_the_proxy_each_buyer_has_her_own_lookup_count(shops, shop_client, settings):
    settings.VSTORE_TRUSTED_PROXIES = [PROXY]
    guesser, buyer = new_address(), new_address()
    browser = shop_client("a.localhost")
    answers = [_lookup(browser, via_proxy=guesser).status_code for _ in range(11)]

    assert answers == [404] * 10 + [429]
    assert "Too many attempts" in _lookup(browser, via_proxy=guesser).text
    # Another buyer behind the same proxy is still answered.
    assert _lookup(browser, via_proxy=buyer).status_code == 404


@pytest.mark.django_db
def test_an_untrusted_client_cannot_reset_its_count_with_a_forged_header(
    shops, shop_client, settings
):
    settings.VSTORE_TRUSTED_PROXIES = [PROXY]
    remote = new_address()
    browser = shop_client("a.localhost")
    answers = [
        _lookup(browser, via_proxy=new_address(), remote=remote).status_code for _ in range(11)
    ]
    assert answers == [404] * 10 + [429]


# --- sign-in codes ------------------------------------------------------------------------------


def _new_contact() -> str:
    return f"mum-{secrets.token_hex(4)}@example.com"


def test_twenty_wrong_codes_at_once_are_compared_only_five_times(shops):
    contact = _new_contact()
    with tenant_context(shops.a):
        code_request(contact=contact, shop_name="Shop A")
    right = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = "000000" if right != "000000" else "111111"
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess() -> None:
        try:
            with tenant_context(shops.a):
                start.wait(timeout=60)
                try:
                    code_verify(contact=contact, code=wrong)
                    outcomes.append("accepted")
                except ValidationError as exc:
                    outcomes.append(exc.code or "")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == sorted(["wrong"] * TRIES + ["expired"] * (20 - TRIES))
    # The code is used up: even the right one no longer works.
    with tenant_context(shops.a), pytest.raises(ValidationError, match="expired"):
        code_verify(contact=contact, code=right)


def test_codes_to_one_number_are_capped_across_shops(shops, settings):
    settings.VSTORE_RATES = {**production.VSTORE_RATES, "code_send_contact": "2/h"}
    contact = _new_contact()
    with tenant_context(shops.a):
        code_request(contact=contact, shop_name="Shop A")
    with tenant_context(shops.b):
        code_request(contact=contact, shop_name="Shop B")
    with tenant_context(shops.a):
        cache.delete(f"otp-sent:{contact}")  # as if the minute between two codes had passed
        with pytest.raises(CodesLimited, match="this number or address"):
            code_request(contact=contact, shop_name="Shop A")


def test_production_caps_codes_per_number_and_client_per_hour():
    assert production.VSTORE_RATES["code_send_contact"] == "5/h"
    assert production.VSTORE_RATES["code_send_client"] == "10/h"


@pytest.mark.django_db
def test_one_client_may_ask_for_a_limited_number_of_codes(shops, shop_client, settings):
    settings.VSTORE_RATES = {**production.VSTORE_RATES, "code_send_client": "3/h"}
    remote = new_address()
    asked = [
        shop_client("a.localhost").post(
            "/me/code/", {"contact": _new_contact()}, REMOTE_ADDR=remote
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in asked] == [302, 302, 302, 429]
    assert "from your network" in asked[-1].text
    # Counted across shops: shop b refuses this client too, another client is served.
    other_shop = shop_client("b.localhost").post(
        "/me/code/", {"contact": _new_contact()}, REMOTE_ADDR=remote
    )
    assert other_shop.status_code == 429
    fine = shop_client("b.localhost").post(
        "/me/code/", {"contact": _new_contact()}, REMOTE_ADDR=new_address()
    )
    assert fine.status_code == 302


# --- logins and sign-ups ------------------------------------------------------------------------


def _posts(client, path: str, data: dict, remote: str, times: int) -> list[int]:
    return [client.post(path, data, REMOTE_ADDR=remote).status_code for _ in range(times)]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_platform_password_logins_are_limited_per_client(shops, shop_client, path):
    remote = new_address()
    wrong = {"username": "staff", "password": "guess"}
    answers = _posts(shop_client("localhost"), path, wrong, remote, 11)

    assert answers == [200] * 10 + [429]
    limited = shop_client("localhost").post(path, wrong, REMOTE_ADDR=remote)
    assert limited.status_code == 429 and "Too many attempts" in limited.text
    assert shop_client("localhost").post(path, wrong, REMOTE_ADDR=new_address()).status_code == 200


@pytest.mark.django_db
def test_a_shops_admin_login_is_limited_per_client(shops, shop_client):
    remote = new_address()
    wrong = {"username": "creator", "password": "guess"}
    answers = _posts(shop_client("a.localhost"), "/admin/login/", wrong, remote, 11)

    assert answers == [200] * 10 + [429]
    other = shop_client("a.localhost").post("/admin/login/", wrong, REMOTE_ADDR=new_address())
    assert other.status_code == 200


@pytest.mark.django_db
def test_sign_ups_are_limited_per_client(shops, shop_client):
    remote = new_address()
    bad = {"shop_name": "", "subdomain": "x", "contact": "nobody"}
    answers = _posts(shop_client("localhost"), "/signup/", bad, remote, 11)

    assert answers == [400] * 10 + [429]
    assert (
        "Too many attempts"
        in shop_client("localhost").post("/signup/", bad, REMOTE_ADDR=remote).text
    )
