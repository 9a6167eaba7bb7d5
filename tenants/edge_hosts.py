"""Which live shop a request's Host names, for the WSGI edges in front of Django.

The edges (storefront/flash/edge.py: a flash sale's 抢购 presses; storefront/pricedrop/edge.py:
a price drop's share links) answer their paths without Django's middleware, so they cannot use
tenants.middleware's routing. They read the same Domain rows through a per-process map kept
VSTORE_EDGE_HOST_SECONDS (default 10): one indexed query per host and process at most that often,
none on the hot path. A suspended shop, the template and the platform are no shop here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class EdgeShop:
    schema: str
    id: int


_hosts: dict[str, tuple[float, EdgeShop | None]] = {}
HOSTS_KEPT = 5000
# What a Domain row can hold (IDNs arrive as punycode): anything else (a NUL byte, which
# PostgreSQL refuses in text, spaces, another charset) is no shop and never reaches a query.
_HOSTNAME = re.compile(r"[a-z0-9.-]{1,253}\Z")


def environ_hostname(environ: dict[str, Any]) -> str:
    """The host as Domain rows store it (what tenants.middleware.ShopMiddleware routes by)."""
    host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal is never a shop
        return ""
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".").removeprefix("www.")
    return host if _HOSTNAME.match(host) else ""


def edge_shop(hostname: str) -> EdgeShop | None:
    """The live shop at HOSTNAME, or None (no shop there, or a suspended one)."""
    now = time.monotonic()
    entry = _hosts.get(hostname)
    if entry is not None and entry[0] > now:
        return entry[1]
    if not _HOSTNAME.match(hostname):
        return None
    from django.db import DatabaseError, connection

    from .models import Domain

    def lookup() -> tuple[str, str, bool, int] | None:
        return (
            Domain.objects.filter(domain=hostname)
            .values_list("tenant__schema_name", "tenant__state", "tenant__is_template", "tenant_id")
            .first()
        )

    try:
        row = lookup()
    except DatabaseError:
        # The edges run outside Django's request signals, which would have dropped a
        # connection that broke meanwhile (a database restart): drop it and try once more.
        connection.close()
        row = lookup()
    # Only an open shop sells: a suspended one shows visitors a notice (tenants.middleware).
    live = row and row[1] == "active" and not row[2] and row[0] != "public"
    shop = EdgeShop(schema=row[0], id=row[3]) if row and live else None
    if len(_hosts) >= HOSTS_KEPT:  # random Host headers must not grow the map without end
        _hosts.clear()
    seconds = float(getattr(settings, "VSTORE_EDGE_HOST_SECONDS", 10))
    _hosts[hostname] = (now + seconds, shop)
    return shop


def edge_shops_forget() -> None:
    """Forget the map (tests; a domain moved is seen within VSTORE_EDGE_HOST_SECONDS anyway)."""
    _hosts.clear()
