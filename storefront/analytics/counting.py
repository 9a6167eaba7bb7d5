"""Counting a shop's events in Redis: one pipeline per event, never a database row per view.

Keys (all carry the shop's id in a hash tag, so one shop's keys are its own, and stay on one
Redis Cluster slot for the rollup's scripts):

    vs:an:{SHOP}:c:YYYYMMDD   hash  "event|page_id|listing_id|source" -> count (the live day)
    vs:an:{SHOP}:days         set   the days that have a live hash
    vs:an:{SHOP}:u:YYYYMMDD   HyperLogLog of the day's visitors
    vs:an:{SHOP}:udays        set   the days that have a HyperLogLog
    vs:an:{SHOP}:b:BATCH      hash  a live hash taken by the rollup (rollup.py)
    vs:an:{SHOP}:pending      set   the batches taken and not yet finished

A visitor is never stored as such: it is a keyed hash of the day, the shop, the client's
address and its user agent (no cookie, and no way to link one day's visitor to the next
day's). The HyperLogLog counts them with Redis's standard error of 0.81 %.

Counting is best-effort: a Redis failure is logged and the page, checkout or payment that
counted goes on (figures are not worth a failed order).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import redis
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from core.clients import client_address
from core.shop import current_shop_id, in_shop

from .models import EVENTS

logger = logging.getLogger(__name__)

PREFIX = "vs:an"
# Live hashes outlive any rollup delay; a deleted shop's keys go by themselves.
LIVE_TTL = 30 * 86400
# HyperLogLogs are kept a little over a week: the rollup reads yesterday's once more after
# midnight, and a stopped beat can catch up.
VISITORS_TTL = 8 * 86400
SOURCE = re.compile(r"^(|share|campaign:\d{1,10}|coupon:[A-Za-z0-9_-]{1,32})$")
ID_MAX = 2_147_483_647  # PositiveIntegerField's upper bound

# Known bots and tools, by user agent (case-insensitive patterns). Not counted: crawlers of
# search engines and social networks fetch shared links without a person behind them. WeChat's
# own browser ("MicroMessenger") is a person and is counted; so is a Cubot phone, whose name
# merely contains "bot". A missing user agent is a tool.
BOT_PATTERNS = (
    r"(?<!cu)bot\b",  # Googlebot/2.1, bingbot, AdsBot-Google, PetalBot, Applebot, YandexBot
    r"spider",  # Baiduspider, Sogou web spider, 360Spider, YisouSpider, Bytespider
    r"crawl",  # crawler, crawling
    r"slurp",  # Yahoo
    r"headlesschrome|phantomjs|lighthouse|pagespeed",  # scripted browsers and auditors
    r"facebookexternalhit|preview",  # link previewers
    r"python-requests|python-urllib|aiohttp|httpx|scrapy|node-fetch|axios/|okhttp",
    r"^curl/|^wget/|go-http-client|^java/|postman",
    r"monitor|uptime",
)
BOTS = re.compile("|".join(BOT_PATTERNS), re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    """True for a known bot or tool (or no user agent at all): its events are not counted."""
    agent = (user_agent or "").strip()
    return not agent or BOTS.search(agent) is not None


@dataclass(frozen=True)
class Event:
    event: str
    page_id: int = 0
    listing_id: int = 0
    source: str = ""

    def field(self) -> str:
        return f"{self.event}|{self.page_id}|{self.listing_id}|{self.source}"


def event_valid(item: Event) -> bool:
    """The one check every counted event passes (the beacon's input included)."""
    return (
        item.event in EVENTS
        and isinstance(item.page_id, int)
        and isinstance(item.listing_id, int)
        and 0 <= item.page_id <= ID_MAX
        and 0 <= item.listing_id <= ID_MAX
        and isinstance(item.source, str)
        and SOURCE.match(item.source) is not None
    )


def field_parse(field: str) -> Event | None:
    """A live hash's field back as an Event (None for anything this module did not write)."""
    parts = field.split("|")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    item = Event(parts[0], int(parts[1]), int(parts[2]), parts[3])
    return item if event_valid(item) else None


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    """Redis for counters (the cache's Redis; its connections are pooled per process). A page
    waits for it 2 s at most: counting is never worth a slow page."""
    return _client(settings.REDIS_URL)


@lru_cache(maxsize=4)
def _rollup_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=60, socket_connect_timeout=5)


def rollup_client() -> redis.Redis:
    """Redis for the rollup task, which reads big hashes and may wait longer than a page."""
    return _rollup_client(settings.REDIS_URL)


def day_text(day: date) -> str:
    return day.strftime("%Y%m%d")


def key(shop_id: int, name: str) -> str:
    return f"{PREFIX}:{{{shop_id}}}:{name}"


def visitor_of(request: HttpRequest, *, shop_id: int, day: date | None = None) -> str:
    """The day's anonymous visitor id of REQUEST in SHOP (a keyed hash, see the module doc)."""
    day = day or timezone.localdate()
    message = "|".join(
        (
            day_text(day),
            str(shop_id),
            client_address(request),
            str(request.META.get("HTTP_USER_AGENT", ""))[:512],
        )
    )
    digest = hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def events_count(
    *,
    shop_id: int,
    events: Iterable[Event],
    visitor: str = "",
    user_agent: str | None = None,
    day: date | None = None,
) -> None:
    """Count EVENTS (and VISITOR, if given) for SHOP on DAY (today) in one Redis round trip.

    USER_AGENT None means "not a request" (a task counting a paid order): no bot check.
    Invalid events are dropped here too, so nothing but known fields reaches the rollup.
    """
    if user_agent is not None and is_bot(user_agent):
        return
    valid = [item for item in events if event_valid(item)]
    if not valid and not visitor:
        return
    today = day_text(day or timezone.localdate())
    live = key(shop_id, f"c:{today}")
    pipe = client().pipeline(transaction=True)
    for item in valid:
        pipe.hincrby(live, item.field(), 1)
    if valid:
        pipe.expire(live, LIVE_TTL)
        pipe.sadd(key(shop_id, "days"), today)
        pipe.expire(key(shop_id, "days"), LIVE_TTL)  # a deleted shop's keys go by themselves
    if visitor:
        seen = key(shop_id, f"u:{today}")
        pipe.pfadd(seen, visitor)
        pipe.expire(seen, VISITORS_TTL)
        pipe.sadd(key(shop_id, "udays"), today)
        pipe.expire(key(shop_id, "udays"), VISITORS_TTL)
    try:
        pipe.execute()
    except redis.RedisError:
        logger.warning("analytics: events of shop %s not counted", shop_id, exc_info=True)


def event_count(
    *,
    shop_id: int,
    event: str,
    page_id: int = 0,
    listing_id: int = 0,
    source: str = "",
    visitor: str = "",
    user_agent: str | None = None,
) -> None:
    """Count one EVENT of SHOP (Redis only, never a database row); no-op for known bots."""
    events_count(
        shop_id=shop_id,
        events=[Event(event, page_id, listing_id, source)],
        visitor=visitor,
        user_agent=user_agent,
    )


def request_event_count(
    request: HttpRequest, *, event: str, page_id: int = 0, listing_id: int = 0, source: str = ""
) -> None:
    """Count EVENT for the shop REQUEST is in, with its visitor; bots are not counted.

    The one line a view adds where something happens (a share visit, a checkout start).
    A checkout start also carries the article whose card she tapped into her session, for the
    order (attribution.py), and is counted for that article."""
    if not in_shop():
        return
    shop_id = current_shop_id()
    if event == "checkout_start" and not page_id:
        from .attribution import source_page_carry

        page_id = source_page_carry(request) or 0
    event_count(
        shop_id=shop_id,
        event=event,
        page_id=page_id,
        listing_id=listing_id,
        source=source,
        visitor=visitor_of(request, shop_id=shop_id),
        user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
    )


def order_paid_count(*, order_id: int, share_link_id: int | None) -> None:
    """Count ORDER_ID as paid once the transaction that marked it paid commits (called where
    the order turns paid, so once per order; nothing is counted if that transaction rolls
    back). The shop is taken now: the commit may happen after the schema was switched."""
    if not in_shop():
        return
    from storefront.models import Order  # orders import this module

    shop_id = current_shop_id()
    source = "share" if share_link_id else ""
    # The article the order came from (attribution.py): its orders in the article's figures.
    page_id, paid_at = Order.objects.filter(pk=order_id).values_list(
        "source_page_id", "paid_at"
    ).first() or (None, None)

    def counted() -> None:
        event_count(shop_id=shop_id, event="order_paid", page_id=page_id or 0, source=source)
        if paid_at is not None:  # paid on a day already rolled up (a late capture): remake it
            from .sales import sales_day_dirty

            sales_day_dirty(shop_id=shop_id, day=timezone.localdate(paid_at))

    transaction.on_commit(counted)
