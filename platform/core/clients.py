"""Who is asking: the client's network address, the one rule every rate limit counts by.

Behind a reverse proxy (deploy/nginx.conf) REMOTE_ADDR is the proxy for every visitor, so
counting by it puts all buyers in one bucket: ten wrong guesses by one person lock out everyone.
The proxy names the real client in X-Forwarded-For, but anyone can send that header, so it is
believed only when the request came from a proxy we run (VSTORE_TRUSTED_PROXIES, addresses or
CIDR networks). Each trusted proxy appends the address it saw to the right of the header; reading
from the right and skipping our own proxies, the first address we do not run is the client.
Anything further left was written by the client and is never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache, wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


ViewFunc = Callable[..., HttpResponseBase]


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def trusted_networks_parse(value: Iterable[str]) -> tuple[Network, ...]:
    """VSTORE_TRUSTED_PROXIES as networks; ValueError names the entry that is not one."""
    proxies = tuple(value)
    for entry in proxies:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"not an address or network: {entry!r}") from exc
    return _networks(proxies)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443" as some proxies write it
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent REQUEST, as text ("" if the server gave none).

    X-Forwarded-For is read only when REMOTE_ADDR is one of VSTORE_TRUSTED_PROXIES; then the
    right-most address that is not a trusted proxy is the client. A malformed entry ends the walk
    (nothing left of it can be believed) and the last trusted hop stands for the client.
    """
    remote_text = str(request.META.get("REMOTE_ADDR") or "")
    remote = _address(remote_text)
    if remote is None:
        return remote_text
    trusted = _networks(tuple(getattr(settings, "VSTORE_TRUSTED_PROXIES", ())))
    if not trusted or not any(remote in net for net in trusted):
        return str(remote)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    client = remote
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not any(address in net for net in trusted):
            break
    return str(client)


def client_bucket(request: HttpRequest) -> str:
    """What limits count per client: the address, or its /64 for IPv6 (one subscriber is given
    a whole /64 and could take a fresh address for every request)."""
    address = _address(client_address(request))
    if address is None:
        return ""
    if address.version == 6:
        mask = int(getattr(settings, "RATELIMIT_IPV6_MASK", 64))
        return str(ipaddress.ip_network(f"{address}/{mask}", strict=False).network_address)
    return str(address)


def rate_limited(*, name: str, value: str, across_shops: bool = False) -> bool:
    """Count one more event NAME for VALUE (a client_bucket, a mobile, an e-mail) against the
    rate VSTORE_RATES[NAME]; True when this one is over it.

    Atomic (django-ratelimit: cache.add, then cache.incr in Redis): 20 requests at once are
    counted 1..20 and only the first LIMIT pass, where read-then-set let them all through.
    Counters are per shop (cache keys carry the schema) unless ACROSS_SHOPS, for what costs the
    platform whichever shop it comes through (an SMS to a number).
    """
    from django_ratelimit.core import is_ratelimited
    from django_tenants.utils import get_public_schema_name, schema_context

    def count() -> bool:
        return bool(
            is_ratelimited(
                None,
                group=f"vstore.{name}",
                key=lambda _group, _request: value,
                rate=settings.VSTORE_RATES[name],
                increment=True,
            )
        )

    if across_shops:
        with schema_context(get_public_schema_name()):
            return count()
    return count()


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """The 429 page: says what happened and what to do, instead of a bare 403 or a 500."""
    return render(request, "429.html", status=429)


def posts_limited(name: str) -> Callable[[ViewFunc], ViewFunc]:
    """Limit a view's POSTs per client to VSTORE_RATES[NAME] (per shop: keys carry the schema);
    an over-the-limit POST gets the 429 page and never reaches the view (no password is
    checked, no shop is made). GETs are never counted."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST" and rate_limited(name=name, value=client_bucket(request)):
                return too_many_requests(request)
            return view(request, *args, **kwargs)

        return limited

    return decorate
