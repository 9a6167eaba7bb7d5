"""One callback domain for every shop.

WeChat sends a buyer back only to the few domains registered in the official account (its
"authorisation callback domain"), while shops live on NAME.<platform domain> and on creators'
own domains. So the redirect_uri is on the platform's own host (PLATFORM_BASE_URL):
/wx/oauth/relay?shop=HOST, and the relay sends the buyer on to HOST's /wx/oauth/callback, where
her session (and the state it keeps) lives. HOST must be a shop's domain (a Domain row of an
active shop, or "www." before one); anything else is refused, so the relay is no open redirect.

A code is good for any redirect_uri of the account once it has left WeChat, and a creator
controls where their own custom domain points. So the relay marks what it forwards: `relay`, a
signature over the host, the code and the state. A shop's callback takes a code only with a mark
for its own host, so a code that went to one shop's host (or was lifted there) opens nothing on
another's.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Tenant

RELAY_SALT = "storefront.wechat.oauth-relay"
# A host name as the shops' Domain rows keep it: lower-case labels of letters, digits and
# hyphens, dot-separated, no port, no user, no scheme.
_HOST = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}")


def request_hostname(request: HttpRequest) -> str:
    """This request's host name, lower-case, without its port."""
    hostname, _port = split_domain_port(request.get_host())
    return hostname


def relay_url(shop_host: str) -> str:
    """The redirect_uri WeChat is given for a trip from SHOP_HOST: the platform's relay."""
    path = reverse("wx_oauth_relay", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return f"{settings.PLATFORM_BASE_URL.rstrip('/')}{path}?{urlencode({'shop': shop_host})}"


def shop_host_known(host: object) -> bool:
    """Whether HOST is the host name of an active shop (its Domain, or "www." before it)."""
    if not isinstance(host, str) or not _HOST.fullmatch(host):
        return False
    return (
        Domain.objects.filter(
            domain=host.removeprefix("www."),
            tenant__state=Tenant.State.ACTIVE,
            tenant__is_template=False,
        )
        .exclude(tenant__schema_name=get_public_schema_name())
        .exists()
    )


def shop_origin(host: str) -> str:
    """scheme://HOST[:port] as shops are reached (VSTORE_SHOP_PORT; as tenants.signup does)."""
    port = settings.VSTORE_SHOP_PORT
    return {443: f"https://{host}", 80: f"http://{host}"}.get(port, f"http://{host}:{port}")


def _signer() -> signing.Signer:
    return signing.Signer(salt=RELAY_SALT, algorithm="sha256")


def relay_mark(host: str, code: str, state: str) -> str:
    return _signer().signature(f"{host}|{code}|{state}")


def relay_mark_ok(host: str, code: str, state: object, mark: object) -> bool:
    if not isinstance(state, str) or not isinstance(mark, str) or not mark:
        return False
    return constant_time_compare(mark, relay_mark(host, code, state))
