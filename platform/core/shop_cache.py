"""A short-lived cache of the data every shop page reads and seldom changes.

The page cache (cms/page_cache.py) serves whole pages to anonymous readers only. Everyone else (a
buyer with a cart, a signed-in creator) gets a freshly rendered page, and most of its cost was
queries whose answers rarely change: the Wagtail Site for the host, the shop's appearance
settings, the shop page's URL (for every card's link), and the batch of listings behind the
product cards (listing, catalog product and supplier, items with their SKUs, images). Those are
kept here for VSTORE_SHOP_DATA_CACHE_SECONDS (a few seconds, like the page cache; 0 turns it off,
as the tests do except this module's own).

Freshness:
- Every key carries the shop's generation, a token replaced (after commit) whenever the shop
  changes something these reads show: a listing or its prices, a page published, unpublished,
  moved or deleted, its appearance settings or its Site. The creator sees her edit at once.
- What changes outside the shop shows within twice the TTL (a process may keep an entry in
  memory for a TTL after it was made): stock and prices in the shared catalog,
  a supplier suspended. Cards may say "in stock" a few seconds longer than true; checkout
  reserves stock with a checked UPDATE and re-reads prices, so nothing is sold on a stale card.

Isolation: keys go through the default cache, whose KEY_FUNCTION (django_tenants.cache.make_key)
puts the current schema in every key, so two shops never share an entry, even for the same
listing id or Site id. The generation is per shop for the same reason.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_tenants.utils import schema_context

from .shop import current_schema, in_shop

T = TypeVar("T")
GENERATION_KEY = "shopdata:generation"
# Long enough to outlive every entry made under it; a lost generation only means a new one.
GENERATION_SECONDS = 24 * 3600
_MISSING = object()
# This process's copies of entries, by schema and key: (expires at, value). Bounded.
LOCAL_ENTRIES = 2000
_local: dict[str, tuple[float, Any]] = {}
# The generations one request has read, by schema (cms.shop_cache.ShopSiteMiddleware sets it
# through request_generations_begin).
_request_generations: ContextVar[dict[str, str] | None] = ContextVar(
    "shop_generations", default=None
)


def seconds() -> int:
    return int(getattr(settings, "VSTORE_SHOP_DATA_CACHE_SECONDS", 0) or 0)


def _in_shop() -> bool:
    return in_shop()


def _generation() -> str:
    """This shop's current generation: read once per request (and per schema, should a request
    visit another shop's), every time outside requests."""
    memo = _request_generations.get()
    schema = current_schema()
    if memo is not None and schema in memo:
        return memo[schema]
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex[:12]
        # add(): if another process made one meanwhile, use theirs.
        if not cache.add(GENERATION_KEY, generation, GENERATION_SECONDS):
            generation = cache.get(GENERATION_KEY) or generation
    if memo is not None:
        memo[schema] = generation
    return generation


def cached(name: str, build: Callable[[], T]) -> T:
    """BUILD()'s value under NAME for this shop: from this process's memory, else from the
    shared cache, else built and stored in both.

    An entry's key carries the generation, so what it holds never changes: a process may keep
    it in memory too (no round trip, no unpickling), for the same TTL. Values kept in memory are
    shared by the requests this process serves (one after another in gunicorn's sync workers,
    side by side in runserver's threads): callers treat them as read-only, or copy what they
    must annotate (ShopSettings.for_request)."""
    ttl = seconds()
    if not ttl or not _in_shop():
        return build()
    key = f"shopdata:{_generation()}:{name}"
    local_key = f"{current_schema()}:{key}"
    now = time.monotonic()
    held = _local.get(local_key)
    if held is not None and held[0] > now:
        return held[1]
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = build()
        cache.set(key, value, ttl)
    if len(_local) >= LOCAL_ENTRIES:
        _local_prune(now)
    _local[local_key] = (now + ttl, value)
    return value


def _local_prune(now: float) -> None:
    # A copy of the items: under a threaded server (runserver) another request may add one.
    for k, (expires, _) in list(_local.items()):
        if expires <= now:
            _local.pop(k, None)
    if len(_local) >= LOCAL_ENTRIES:  # all fresh: a busy process with many shops; start over
        _local.clear()


def ids_key(ids: set[int]) -> str:
    return text_key(",".join(str(i) for i in sorted(ids)))


def text_key(text: str) -> str:
    """TEXT as a key part: itself when short and plain, else a digest (slugs may be Chinese)."""
    if len(text) <= 80 and text.isascii():
        return text
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def bump() -> None:
    """Start a new generation for the current shop once the transaction commits, so readers
    never cache what a rolled-back change showed, nor the old data before the commit."""
    if not _in_shop():
        return
    schema = current_schema()

    def replace() -> None:
        generation = uuid.uuid4().hex[:12]
        # The commit may run after the caller left the shop's schema: name it explicitly.
        with schema_context(schema):
            cache.set(GENERATION_KEY, generation, GENERATION_SECONDS)
        memo = _request_generations.get()
        if memo is not None:  # the rest of this request sees the change too
            memo[schema] = generation

    transaction.on_commit(replace)


def bump_on_signal(sender: Any, **kwargs: Any) -> None:
    bump()


def request_generations_begin() -> Token[dict[str, str] | None]:
    """From now until request_generations_end, each shop's generation is read once."""
    return _request_generations.set({})


def request_generations_end(token: Token[dict[str, str] | None]) -> None:
    _request_generations.reset(token)
