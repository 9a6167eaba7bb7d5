"""A price drop's share link (/drop/<id>/s/<code>/), answered in front of Django.

A share is the mechanic's hot path: every friend a fan sends her link to opens it, at once,
from one post. Through Django's whole middleware stack (shop routing, session, CSRF, locale,
messages, the page cache …) the view answered ≈ 0.3× the requests a second of a two-byte view
on the same stack (issue 15's figure wants ≥ 0.7×). So `PriceDropEdge` (config/wsgi.py, behind
the flash sale's edge) answers the common visit itself, the way the view would:

- the shop from the Host (tenants.edge_hosts' per-process map);
- the link's sharer and the campaign's state from a per-process map (a miss is one indexed
  query naming the shop's tables with their schema; the state is kept a second, the sharer
  half a minute: a link never changes hands);
- one Lua script counts the visit by counting.py's rules (device and address keys, as the
  view makes them) and says when a counted share must send the batched write;
- a redirect to the campaign page, with the device cookie and the signed share cookie the
  view would set, never cached, with the security middleware's headers.

Everything else goes on to Django, which has the complete rules: a visitor with a session
cookie (she may be a signed-in fan, counted by her account), an unknown code (a 404, or a link
made a moment ago), a POST, a plain-HTTP request the site redirects to HTTPS, and a campaign
whose live state Redis lost (the view rebuilds it from PostgreSQL). A Redis failure never
fails the visit: it is not counted, as in the view.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.cache import add_never_cache_headers

from core.clients import client_bucket
from storefront.analytics.counting import is_bot
from storefront.sharing.cookies import share_code_remember
from tenants.edge_hosts import EdgeShop, edge_shop, environ_hostname

from . import counting
from .device import device_of, device_remember

logger = logging.getLogger(__name__)

SHARE_PATH = re.compile(r"/drop/([1-9][0-9]{0,8})/s/([A-Za-z0-9]{1,32})/\Z")
STATE_SECONDS = 1.0  # a campaign that ended (sold out) is seen as ended within a second
SHARER_SECONDS = 30.0
KEPT = 50_000  # entries of each map; random codes never reach them (a miss is not kept)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# (schema, campaign id) → (until, status, ends_at epoch seconds)
_states: dict[tuple[str, int], tuple[float, str, float]] = {}
# (schema, campaign id, code) → (until, sharer's fan id)
_sharers: dict[tuple[str, int, str], tuple[float, int]] = {}


def edge_maps_forget() -> None:
    """Forget what the maps hold (tests)."""
    _states.clear()
    _sharers.clear()


def _one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The first row of SQL, whose tables the caller names with their schema: the connection
    stays in public, so a lookup costs no SET search_path before it and after it (a share of
    a new link pays this one query)."""
    from django.db import DatabaseError, connection

    for attempt in (1, 2):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except DatabaseError:
            # Outside Django's request signals a connection broken meanwhile (a database
            # restart) is not dropped for us: drop it and try once more.
            connection.close()
            if attempt == 2:
                raise
    return None


def _table(schema: str, model: type[Any]) -> str:
    from django.db import connection

    # SCHEMA is a Domain row's tenant schema (tenants.edge_hosts), never the request's text.
    return f"{connection.ops.quote_name(schema)}.{connection.ops.quote_name(model._meta.db_table)}"


def _state(schema: str, campaign_id: int, now: float) -> tuple[str, float] | None:
    entry = _states.get((schema, campaign_id))
    if entry is not None and entry[0] > now:
        return entry[1], entry[2]
    from .models import PriceDrop

    row = _one_row(
        f"SELECT status, ends_at FROM {_table(schema, PriceDrop)} WHERE id = %s",  # noqa: S608
        [campaign_id],
    )
    if row is None:
        return None
    if len(_states) >= KEPT:
        _states.clear()
    _states[(schema, campaign_id)] = (now + STATE_SECONDS, row[0], row[1].timestamp())
    return row[0], row[1].timestamp()


def _sharer(schema: str, campaign_id: int, code: str, now: float) -> int | None:
    entry = _sharers.get((schema, campaign_id, code))
    if entry is not None and entry[0] > now:
        return entry[1]
    from storefront.sharing.models import ShareLink

    from .models import DropSharer

    # By the link's unique code, then the campaign's sharer of that link (as the view).
    row = _one_row(
        f"SELECT s.fan_id FROM {_table(schema, ShareLink)} l"  # noqa: S608
        f" JOIN {_table(schema, DropSharer)} s ON s.share_link_id = l.id"
        " WHERE l.code = %s AND s.campaign_id = %s LIMIT 1",
        [code, campaign_id],
    )
    if row is None:
        return None
    if len(_sharers) >= KEPT:
        _sharers.clear()
    _sharers[(schema, campaign_id, code)] = (now + SHARER_SECONDS, int(row[0]))
    return int(row[0])


def _count(request: WSGIRequest, shop: EdgeShop, campaign_id: int, fan_id: int,
           device: str) -> bool | None:  # fmt: skip
    """Count the visit (counting.py's rules, as the view); None: Redis lost the campaign's
    live state (the view rebuilds it)."""
    from .tasks import pricedrop_flush_send

    device_key = counting.identity("d", device, shop_id=shop.id)
    try:
        visit = counting.visit_count(
            campaign_id=campaign_id,
            sharer_id=fan_id,
            visitor=device_key,
            device=device_key,
            fan="",
            address=counting.identity("a", client_bucket(request), shop_id=shop.id),
            now_ms=int(time.time() * 1000),
            shop_id=shop.id,
        )
    except redis.RedisError:
        logger.warning("pricedrop %s: visit not counted (Redis)", campaign_id, exc_info=True)
        return False
    if visit.outcome == counting.Outcome.REBUILD:
        return None
    if visit.flush:
        pricedrop_flush_send(campaign_id=campaign_id, schema=shop.schema)
    return True


class PriceDropEdge:
    """WSGI middleware: a share link's common visit answered here, the rest by APP (Django)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        # Django's own middleware for the headers every answer of the site carries (HSTS,
        # nosniff, referrer and opener policies, frame options) and its redirect to HTTPS.
        self.security = SecurityMiddleware(lambda request: HttpResponse())
        self.frames = XFrameOptionsMiddleware(lambda request: HttpResponse())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        # GET only, as the view (HEAD, a link previewer's, is the view's 405).
        match = SHARE_PATH.match(path) if path.startswith("/drop/") else None
        if match is None or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        response = self.answer(environ, int(match.group(1)), match.group(2))
        if response is None:
            return self.app(environ, start_response)
        headers = [*response.items()]
        headers += [("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [b""]

    def answer(self, environ: dict[str, Any], campaign_id: int, code: str) -> HttpResponse | None:
        """The redirect a visit through CODE's link gets, or None: Django answers it."""
        if settings.SESSION_COOKIE_NAME in environ.get("HTTP_COOKIE", ""):
            return None  # perhaps a signed-in fan: the view counts her by her account
        request = WSGIRequest(environ)
        if self.security.process_request(request) is not None:
            return None  # plain HTTP on an HTTPS site: Django redirects it
        shop = edge_shop(environ_hostname(environ))
        if shop is None:
            return None
        now = time.time()
        fan_id = _sharer(shop.schema, campaign_id, code, now)
        state = _state(shop.schema, campaign_id, now) if fan_id is not None else None
        if fan_id is None or state is None:
            return None  # not found (the view's 404), or a link made a moment ago
        from .models import PriceDrop

        device, new_device = device_of(request.COOKIES)
        status, ends_at = state
        counts = status == PriceDrop.Status.RUNNING and now < ends_at
        counts = counts and not is_bot(environ.get("HTTP_USER_AGENT"))
        if counts and _count(request, shop, campaign_id, fan_id, device) is None:
            return None
        response: HttpResponse = HttpResponseRedirect(f"/drop/{campaign_id}/")
        share_code_remember(response, code, shop_id=shop.id)
        device_remember(response, device, new_device)
        add_never_cache_headers(response)
        response = self.security.process_response(request, response)
        return self.frames.process_response(request, response)
