"""Host names the site answers: the platform's, and creators' verified custom domains.

Django refuses a request whose Host is not in ALLOWED_HOSTS before any view runs (the tenant
middleware, the first to ask, answers an empty 404), so a forged Host can never reach a link,
an e-mail or a cache key. The platform domain and its subdomains are fixed patterns in the
settings. A custom domain is added by a creator at run time (tenants: a DomainClaim, verified by
a DNS TXT record, becomes a Domain row), so it cannot be listed there. Instead
`CustomDomainMiddleware`, the first middleware, looks the request's host up among the Domain
rows, and while that request runs the ALLOWED_HOSTS entry `CUSTOM_DOMAIN` matches exactly that
host and nothing else. Any other host stays refused.

`CUSTOM_DOMAIN` is a `str` so that Django (and pytest-django, which copies ALLOWED_HOSTS into a
new list) keep it as an ordinary entry. Django compares a host with `pattern.lower()`; ours
answers with the verified host of the current request, or with "[custom-domain]", which no host
can equal (brackets are reserved for IPv6 literals). Should a future Django stop calling lower(),
the entry falls back to that impossible name: custom domains would be refused, never a forged
host let in. tests/test_deploy_settings.py checks these rules.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host

_verified: ContextVar[str] = ContextVar("vstore_verified_custom_domain", default="")
_NOTHING = "[custom-domain]"


class _CustomDomainPattern(str):
    __slots__ = ()

    def lower(self) -> str:  # type: ignore[override]
        return _verified.get() or _NOTHING


CUSTOM_DOMAIN = _CustomDomainPattern(_NOTHING)


def _raw_host(request: HttpRequest) -> str:
    # What HttpRequest.get_host() validates (USE_X_FORWARDED_HOST is off: nginx passes Host).
    meta = request.META
    return meta.get("HTTP_HOST") or meta.get("SERVER_NAME", "")


def custom_domain_known(hostname: str) -> bool:
    """Whether HOSTNAME (lower-case, no port) is a shop's Domain; "www." is the same shop, as
    the tenant middleware routes it."""
    from tenants.models import Domain

    return Domain.objects.filter(domain=hostname.removeprefix("www.")).exists()


class CustomDomainMiddleware:
    """Admit a request for a verified custom domain; leave every other host to ALLOWED_HOSTS.

    Only hosts that the fixed patterns refuse cost a query (one indexed lookup in the public
    schema's domain table), so shop subdomains and the platform pay nothing for it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        hostname, _port = split_domain_port(_raw_host(request))
        token = None
        if (
            hostname
            and not validate_host(hostname, settings.ALLOWED_HOSTS)
            and custom_domain_known(hostname)
        ):
            token = _verified.set(hostname)
        try:
            return self.get_response(request)
        finally:
            if token is not None:
                _verified.reset(token)
