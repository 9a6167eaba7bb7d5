"""The lean path of a flash sale's rush: 抢购 presses and the live status, in front of Django.

At the start of a sale every buyer presses at once. Through Django's full middleware stack
(tenant lookup, session, CSRF, locale, messages, the page cache …) this machine answers
≈ 940 requests a second; a bare WSGI handler that runs one Redis Lua script answers ≈ 3,200
(issue 13). So these two paths never reach Django's handler: `FlashEdge` wraps the WSGI
application in config/wsgi.py (what gunicorn serves, deploy/gunicorn.conf.py) and answers them
itself; every other path goes on to Django untouched.

    POST /flash/grab          t=<grab token>&k=<idempotency key>   → JSON, answered at once
    GET  /flash/status/<id>   the sale's live state from Redis      → JSON, cacheable for 1 s

A press costs one Redis round trip and no database: the host is mapped to its shop's schema
through tenants.edge_hosts' per-process map (a Domain lookup on a miss, kept a few seconds); the
signed token (tokens.py) names the schema, the sale and the fan, so no session is read; one
script (gate.gate_grab_rated) counts the press against the fan's and the client's rates ("too
fast" beyond them) and then decides the grab, atomically. The answer's `result` is one of:

    won (with pay_by, epoch ms, and next: the page that leads to checkout), sold_out, limit,
    not_open, closed, not_registered, too_fast (429), captcha (403), invalid (403: the token is
    forged, expired, or for another sale or shop), bad (400), retry (503: Redis is away, or the
    sale's gate is being rebuilt).

The page's script (static/flash/sale.js) turns these into words in the buyer's language.

Captcha hook: VSTORE_FLASH_CAPTCHA, when set, is the dotted path of a callable
`check(environ, *, schema, sale_id, fan_id) -> bool`, called after the rate limits and before
the gate (then those are two scripts, with the check between them); False answers `captcha`
(403) and the press takes no unit. A provider's check (a slider's ticket in the form field
`c`, verified with its server) goes there. The benchmark path leaves it unset.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qs

import redis
from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from core.clients import client_bucket
from tenants.edge_hosts import edge_shop, environ_hostname

from .tokens import TokenInvalid, grab_token_read

GRAB_PATH = "/flash/grab"
STATUS_PATH = re.compile(r"/flash/status/(\d{1,10})\Z")
IDEM = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
BODY_MAX = 2048
# Presses allowed per window (count, seconds): one fan (a double tap and a retry pass; a script
# does not), and one client address (buyers behind one carrier NAT share it, so it is wider).
RATES_DEFAULT = {"fan": (3, 3), "client": (60, 1)}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _rates() -> dict[str, tuple[int, int]]:
    return {**RATES_DEFAULT, **getattr(settings, "VSTORE_FLASH_EDGE_RATES", {})}


# --- host → schema ------------------------------------------------------------------------------


def shop_schema_for_host(hostname: str) -> str:
    """The schema of the live shop at HOSTNAME ("" for none, or a suspended one)."""
    shop = edge_shop(hostname)
    return shop.schema if shop else ""


# --- answers ------------------------------------------------------------------------------------

_STATUS_LINES = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    429: "429 Too Many Requests",
    503: "503 Service Unavailable",
}


def _answer(
    start_response: StartResponse,
    status: int,
    payload: dict[str, Any],
    *,
    cache: str = "no-store",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", cache),
        ("X-Content-Type-Options", "nosniff"),
        *(extra or []),
    ]
    start_response(_STATUS_LINES[status], headers)
    return [body]


class _Meta:
    """What core.clients reads of a request (META only), for the one rule of who the client is."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.META = environ


def _form(environ: dict[str, Any]) -> dict[str, str] | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= BODY_MAX:
        return None
    raw = environ["wsgi.input"].read(length)
    try:
        fields = parse_qs(raw.decode("ascii"), max_num_fields=8, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


# --- the two paths ------------------------------------------------------------------------------


def flash_grab_answer(environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status code and JSON of one 抢购 press (ENVIRON: a WSGI request)."""
    from .gate import gate_grab, gate_grab_rated, gate_loaded, gate_rate_ok

    if environ.get("REQUEST_METHOD") != "POST":
        return 405, {"result": "bad"}
    schema = shop_schema_for_host(environ_hostname(environ))
    if not schema:
        return 404, {"result": "bad"}
    form = _form(environ)
    if form is None or not IDEM.match(form.get("k", "")):
        return 400, {"result": "bad"}
    try:
        token = grab_token_read(form.get("t", ""), schema=schema)
    except TokenInvalid:
        return 403, {"result": "invalid"}
    limits = _rates()
    fan_n, fan_s = limits["fan"]
    cli_n, cli_s = limits["client"]
    now = time.time()
    client = client_bucket(cast(HttpRequest, _Meta(environ))) or "-"
    # Under the gate's hash tag (gate.keys): a sale's keys stay on one Redis Cluster slot.
    base = f"flash:{{{schema}:{token.sale_id}}}"
    rate_keys = (
        f"{base}:rf:{token.fan_id}:{int(now // fan_s)}",
        f"{base}:rc:{client}:{int(now // cli_s)}",
    )
    captcha = getattr(settings, "VSTORE_FLASH_CAPTCHA", "")
    rates = (fan_s + 1, cli_s + 1, fan_n, cli_n)
    try:
        if captcha:
            # The provider's check goes between the limits and the gate: two round trips.
            if not gate_rate_ok(
                schema=schema, sale_id=token.sale_id, rate_keys=rate_keys, rates=rates
            ):
                return 429, {"result": "too_fast"}
            if not import_string(captcha)(
                environ, schema=schema, sale_id=token.sale_id, fan_id=token.fan_id
            ):
                return 403, {"result": "captcha"}
            grab = gate_grab(
                schema=schema, sale_id=token.sale_id, fan_id=token.fan_id, idem_key=form["k"]
            )
        else:
            # The limits and the grab in one script: one round trip a press.
            grab = gate_grab_rated(
                schema=schema,
                sale_id=token.sale_id,
                fan_id=token.fan_id,
                idem_key=form["k"],
                rate_keys=rate_keys,
                rates=rates,
            )
    except redis.RedisError:
        return 503, {"result": "retry"}
    if grab.status == "too_fast":
        return 429, {"result": "too_fast"}
    if grab.status == "won":
        return 200, {
            "result": "won",
            "pay_by": grab.pay_deadline_ms,
            "next": f"/flash/{token.sale_id}/won/?k={form['k']}",
            "duplicate": grab.duplicate,
        }
    if grab.status == "unknown":
        # No gate state (being rebuilt by reconcile.py after a loss of Redis): retry shortly.
        # A loaded gate says "unknown" for a key another fan used: that key is refused.
        if gate_loaded(schema=schema, sale_id=token.sale_id):
            return 400, {"result": "bad"}
        return 503, {"result": "retry"}
    return 200, {"result": grab.status}


def flash_status_answer(environ: dict[str, Any], sale_id: int) -> tuple[int, dict[str, Any]]:
    from .gate import gate_status

    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return 405, {"state": "bad"}
    schema = shop_schema_for_host(environ_hostname(environ))
    if not schema:
        return 404, {"state": "bad"}
    try:
        status = gate_status(schema=schema, sale_id=sale_id)
    except redis.RedisError:
        return 503, {"state": "retry"}
    return 200, {**status, "now": int(time.time() * 1000)}


class FlashEdge:
    """WSGI middleware: the rush's two paths answered here, everything else by APP (Django)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/flash/"):
            return self.app(environ, start_response)
        if path == GRAB_PATH:
            code, payload = flash_grab_answer(environ)
            extra = [("Retry-After", "1")] if code in (429, 503) else None
            return _answer(start_response, code, payload, extra=extra)
        match = STATUS_PATH.match(path)
        if match:
            code, payload = flash_status_answer(environ, int(match.group(1)))
            # A CDN (or nginx's cache) may serve one answer to everyone for a second: the
            # figures are a second old at most, and the origin sees one request a second.
            cache = "public, max-age=1, s-maxage=1" if code == 200 else "no-store"
            return _answer(start_response, code, payload, cache=cache)
        return self.app(environ, start_response)
