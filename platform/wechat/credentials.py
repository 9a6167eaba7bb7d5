"""Credentials WeChat hands out for a while (access_token, jsapi_ticket), shared in Redis.

Every web and Celery process reads the same Redis hash (value, refresh_at). Exactly one
worker at a time asks WeChat for a new one, holding a Redis lock (SET NX PX with a random
token, released only by its holder through a compare-and-delete script):

- nothing cached: the others wait on the lock (bounded), then read what the holder stored.
  Asking WeChat as well would waste its daily quota and, for credentials whose re-issue
  replaces the previous one, invalidate what the first worker just stored;
- cached but due for refresh (the last minutes of its life): one worker refreshes and the
  others keep using the current value, which is still valid, without waiting at all.

The hash expires shortly before WeChat's expiry, so a stale value is never handed out.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import redis
from django.conf import settings

from .errors import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

# WeChat's normal mode hands out the next token 5 minutes before the current one expires.
REFRESH_BEFORE_SECONDS = 300
# Never hand out a value in its last minute: a call made with it could arrive after expiry.
FORGET_BEFORE_SECONDS = 60
# How often a waiting worker looks again; refreshes are rare, so a little latency is fine.
POLL_SECONDS = 0.05

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_DROP_LUA = """
if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Issued:
    """A credential as WeChat issued it: its value and its lifetime in seconds."""

    value: str
    expires_in: int


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
    )


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


@lru_cache(maxsize=4)
def _scripts(url: str) -> tuple[Any, Any]:
    client = _client(url)
    return client.register_script(_RELEASE_LUA), client.register_script(_DROP_LUA)


def lock_key(key: str) -> str:
    return f"{key}:lock"


def credential(key: str, issue: Callable[[], Issued], *, lock_seconds: float) -> str:
    """The value cached under KEY; ISSUE (which asks WeChat) runs in one worker at a time.

    LOCK_SECONDS bounds how long a refresher may hold the lock (a crashed one lets go then)
    and how long the others wait for it."""
    value, refresh_at = _read(key)
    if value is None:
        return _refresh_or_wait(key, issue, lock_seconds)
    if time.time() < refresh_at:
        return value
    return _refresh_early(key, issue, value, lock_seconds)


def drop(key: str, value: str) -> bool:
    """Forget VALUE under KEY (WeChat refused it), unless another worker already replaced it."""
    _, drop_script = _scripts(settings.REDIS_URL)
    return bool(drop_script(keys=[key], args=[value]))


def _read(key: str) -> tuple[str | None, float]:
    value, refresh_at = redis_client().hmget(key, ["value", "refresh_at"])
    # The client decodes responses, so these are str (redis-py's types also allow bytes).
    return cast("str | None", value), float(refresh_at or 0)


def _store(key: str, issued: Issued) -> str:
    # A lifetime shorter than the margins (WeChat says "within 7200 s") still gets a sane share.
    lifetime = max(issued.expires_in, 1)
    refresh_at = time.time() + lifetime - min(REFRESH_BEFORE_SECONDS, lifetime / 2)
    keep_ms = int((lifetime - min(FORGET_BEFORE_SECONDS, lifetime / 4)) * 1000)
    pipe = redis_client().pipeline(transaction=True)
    pipe.hset(key, mapping={"value": issued.value, "refresh_at": repr(refresh_at)})
    pipe.pexpire(key, max(keep_ms, 1))
    pipe.execute()
    return issued.value


def _lock(key: str, lock_seconds: float) -> str | None:
    token = secrets.token_hex(16)
    taken = redis_client().set(lock_key(key), token, nx=True, px=int(lock_seconds * 1000))
    return token if taken else None


def _unlock(key: str, token: str) -> None:
    # Only the holder deletes: if our lock expired and another worker took it, it stays its.
    release_script, _ = _scripts(settings.REDIS_URL)
    release_script(keys=[lock_key(key)], args=[token])


def _refresh_or_wait(key: str, issue: Callable[[], Issued], lock_seconds: float) -> str:
    # Past the lock's own lifetime a crashed holder's lock has expired and this worker takes
    # over, so waiting longer than that can only mean WeChat itself is slow to answer.
    deadline = time.monotonic() + lock_seconds + POLL_SECONDS
    waiting = False
    while True:
        token = _lock(key, lock_seconds)
        if token is not None:
            try:
                value, _ = _read(key)
                if value is not None:  # stored by the worker whose lock we just followed
                    return value
                return _store(key, issue())
            finally:
                _unlock(key, token)
        if not waiting:
            log.debug("wechat: waiting for another worker to refresh %s", key)
            waiting = True
        if time.monotonic() >= deadline:
            raise WeChatUnavailable(f"timed out waiting for another worker to refresh {key}")
        time.sleep(POLL_SECONDS)
        value, _ = _read(key)
        if value is not None:
            return value


def _refresh_early(key: str, issue: Callable[[], Issued], value: str, lock_seconds: float) -> str:
    token = _lock(key, lock_seconds)
    if token is None:
        return value  # another worker is refreshing; ours is valid for a few minutes more
    try:
        current, refresh_at = _read(key)
        if current is not None and time.time() < refresh_at:
            return current  # refreshed by the worker that held the lock just before us
        try:
            return _store(key, issue())
        except WeChatError as exc:
            # The current value still works: callers go on, the next one tries again.
            if current is None:  # gone meanwhile: it was in its last minute, not to be used
                raise
            log.warning("wechat: early refresh of %s failed (%s); current value kept", key, exc)
            return current
    finally:
        _unlock(key, token)
