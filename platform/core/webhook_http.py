"""Sending a webhook: one POST to a URL a creator or supplier typed, safely.

The URL is someone else's input, so it is a server-side request forgery risk: pointed at
169.254.169.254 or 10.x it would make our worker read the cloud's metadata or our own services.
In production (ALLOW_PRIVATE false) only https is allowed and every address the host resolves
to must be public; the connection then goes to the address that was checked (no second DNS
lookup a rebinding attacker could answer differently). Redirects are never followed. Tests and
development pass ALLOW_PRIVATE to reach a receiver on loopback.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

RESPONSE_KEEP = 2000  # characters of the receiver's answer kept in the delivery log


class UrlRefused(ValueError):
    """The URL may not receive webhooks (scheme, host or address)."""


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    text: str  # the start of the answer, or why there was none

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_check(url: str, *, allow_private: bool) -> None:
    """UrlRefused unless URL is a webhook target we may send to (no DNS lookup here)."""
    if len(url) > 500:
        raise UrlRefused("A URL is at most 500 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("Not a URL.") from exc
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        raise UrlRefused("Webhook URLs must use https.")
    if not parts.hostname or parts.username or parts.password:
        raise UrlRefused("A webhook URL names a host and carries no password.")
    if port == 0:
        raise UrlRefused("Not a URL.")
    if not allow_private:
        host = parts.hostname
        try:
            public = _public(host)
        except ValueError:  # a name, not an address: checked again when it is resolved
            public = not (host == "localhost" or host.endswith(".localhost"))
        if not public:
            raise UrlRefused("Webhook URLs must point to a public address.")


def _resolve(host: str, port: int, *, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"The host {host} does not resolve.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UrlRefused(f"The host {host} does not resolve.")
    if not allow_private and not all(_public(a) for a in addresses):
        raise UrlRefused("Webhook URLs must point to a public address.")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def webhook_post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> Outcome:
    """POST BODY to URL; the receiver's status and the start of its answer, never an exception
    for what the receiver or the network did (those are a failed attempt, retried later)."""
    try:
        url_check(url, allow_private=allow_private)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _resolve(host, port, allow_private=allow_private)
    except UrlRefused as exc:
        return Outcome(None, f"refused: {exc}")
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, port, address=address, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(RESPONSE_KEEP * 4).decode("utf-8", "replace")[:RESPONSE_KEEP]
        return Outcome(response.status, text)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:RESPONSE_KEEP])
    finally:
        conn.close()
