"""Production settings: HTTPS, the hosts answered, and no sandbox payments.

The settings are read in a child process with DJANGO_DEBUG=0 and what a deployment sets, exactly
as gunicorn and `manage.py check --deploy` read them; `make run` (DEBUG) is checked the same way.
The host rules run in this process against the test database (a verified custom domain must be
a Domain row).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from billing.payments import signing

# What a deployment sets besides the database and Redis (which the test run's own servers give).
_LEFT_OUT = (
    "DJANGO_DEBUG",
    "VSTORE_HTTPS",
    "VSTORE_PAYMENTS_SANDBOX",
    "VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION",
    "DJANGO_ALLOWED_HOSTS",
    "VSTORE_PAYMENT_NOTIFY_BASE_URL",
    "WAGTAILADMIN_BASE_URL",
)


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEFT_OUT and not k.startswith("WECHAT")}
    merchant, wechat = signing.private_key_generate(), signing.private_key_generate()
    return (
        env
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "VSTORE_PLATFORM_DOMAIN": "vstore.example",
            "WECHATPAY_MCHID": "1900009191",
            "WECHATPAY_APPID": "wxd678efh567hg6787",
            "WECHATPAY_PRIVATE_KEY": signing.private_key_pem(merchant),
            "WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
            "WECHATPAY_PUBLIC_KEY": signing.public_key_pem(wechat.public_key()),
            "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232134912410000000000000",
            "WECHATPAY_API_V3_KEY": "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
        }
        | extra
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=300
    )


_SHOW = """
import json, django
django.setup()
from django.conf import settings as s
from billing.payments.registry import providers
print(json.dumps({
    "providers": sorted(providers()),
    "allowed_hosts": [str(h) for h in s.ALLOWED_HOSTS],
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hsts": s.SECURE_HSTS_SECONDS,
    "secure_cookies": [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE],
    "proxy_header": list(s.SECURE_PROXY_SSL_HEADER),
    "notify": s.VSTORE_PAYMENT_NOTIFY_BASE_URL,
    "shop_port": s.VSTORE_SHOP_PORT,
}))
"""


def shown(env: dict[str, str]) -> dict:
    result = run(["-c", _SHOW], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_on_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_no_payment_provider_is_configured():
    env = {k: v for k, v in production_env().items() if not k.startswith("WECHATPAY_")}

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode != 0
    assert "billing.W001" in result.stderr + result.stdout


def test_production_settings_are_https_only_for_the_platform_domain_and_offer_no_sandbox():
    production = shown(production_env())

    assert production["providers"] == ["wechatpay"]
    assert "*" not in production["allowed_hosts"]
    assert production["allowed_hosts"][:2] == ["vstore.example", ".vstore.example"]
    assert production["ssl_redirect"] is True
    assert production["hsts"] >= 31_536_000
    assert production["secure_cookies"] == [True, True]
    assert production["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["notify"] == "https://vstore.example"
    assert production["shop_port"] == 443  # Wagtail makes shops' links https


def test_make_run_settings_stay_on_plain_http_with_the_sandbox():
    env = production_env(DJANGO_DEBUG="1", VSTORE_PLATFORM_DOMAIN="localhost")
    development = shown(env)

    assert development["providers"] == ["sandbox", "wechatpay"]
    assert development["ssl_redirect"] is False and development["hsts"] == 0
    assert development["secure_cookies"] == [False, False]
    assert "localhost" in development["allowed_hosts"]
    assert ".localhost" in development["allowed_hosts"]
    assert development["notify"] == "http://localhost:8000"


def test_production_start_up_refuses_the_sandbox_unless_meant():
    sandbox_on = production_env(VSTORE_PAYMENTS_SANDBOX="1")
    refused = run(["-c", "import django; django.setup()"], sandbox_on)
    staging = shown(
        production_env(VSTORE_PAYMENTS_SANDBOX="1", VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION="1")
    )

    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "VSTORE_PAYMENTS_SANDBOX" in refused.stderr
    assert staging["providers"] == ["sandbox", "wechatpay"]


def test_each_https_switch_can_be_turned_off_by_its_variable():
    trial = shown(production_env(VSTORE_HTTPS="0"))
    no_redirect = shown(production_env(DJANGO_SECURE_SSL_REDIRECT="0"))

    assert trial["ssl_redirect"] is False and trial["hsts"] == 0
    assert trial["secure_cookies"] == [False, False]
    assert trial["shop_port"] == 80
    assert no_redirect["ssl_redirect"] is False and no_redirect["hsts"] >= 31_536_000


# --- hosts, in this process --------------------------------------------------------------------


def host_admitted(host: str) -> bool:
    """Whether Django's host check (request.get_host()) passes for HOST behind our middleware."""
    from django.core.exceptions import DisallowedHost
    from django.http import HttpResponse
    from django.test import RequestFactory

    from config.hosts import CustomDomainMiddleware

    def view(request):
        request.get_host()
        return HttpResponse()

    try:
        CustomDomainMiddleware(view)(RequestFactory().get("/", HTTP_HOST=host))
    except DisallowedHost:
        return False
    return True


@pytest.mark.django_db
def test_an_unknown_host_is_refused_and_a_verified_custom_domain_is_served(shops):
    from tenants.models import Domain

    Domain.objects.create(tenant=shops.a, domain="brand-a.example.com", is_primary=False)

    admitted = {
        host: host_admitted(host)
        for host in (
            "evil.example.net",
            "brand-a.example.com",
            "WWW.Brand-A.example.com:443",
            "x.brand-a.example.com",
            "[custom-domain]",
            "a.localhost",
            "localhost",
        )
    }
    foreign = Client(HTTP_HOST="evil.example.net").get("/")
    custom = Client(HTTP_HOST="brand-a.example.com").get("/")
    after = Client(HTTP_HOST="evil.example.net").get("/")  # nothing carried over

    assert admitted == {
        "evil.example.net": False,
        "brand-a.example.com": True,
        "WWW.Brand-A.example.com:443": True,
        "x.brand-a.example.com": False,
        "[custom-domain]": False,
        "a.localhost": True,
        "localhost": True,
    }
    assert host_admitted("evil.example.net") is False  # the custom domain did not stick
    # Refused before routing: an empty 404, not even the "no such shop" page.
    assert (foreign.status_code, foreign.content) == (404, b"")
    assert (after.status_code, after.content) == (404, b"")
    assert custom.status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_and_https_gets_hsts(shops, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    plain = Client(HTTP_HOST="a.localhost").get("/shop/")
    forged = Client(HTTP_HOST="a.localhost", HTTP_X_FORWARDED_PROTO="http").get("/shop/")
    secure = Client(HTTP_HOST="a.localhost", HTTP_X_FORWARDED_PROTO="https").get("/")

    assert plain.status_code == forged.status_code == 301
    assert plain["Location"] == "https://a.localhost/shop/"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert secure["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_behind_https_the_sign_up_hand_off_link_is_https(shops, settings):
    from django.contrib.auth import get_user_model
    from django_tenants.utils import tenant_context

    from tenants.signup import shop_login_url

    with tenant_context(shops.a):
        get_user_model().objects.create_user("handoff-owner", password="pw-Handoff-1")
    settings.VSTORE_SHOP_PORT = 443

    url = shop_login_url(tenant=shops.a, username="handoff-owner")

    assert url.startswith("https://a.localhost/account/welcome/")
