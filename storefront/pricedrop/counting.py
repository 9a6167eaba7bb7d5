"""Counting shares of a price drop in Redis: one atomic script per visit, never a row per view.

The rules a visit is counted by (the campaign page says them in words, views.RULES):

- a sharer's link counts once per campaign, when it first brings a distinct visitor who is not
  herself;
- a visitor is her fan account where she is signed in, otherwise her browser (a device cookie);
  each visitor lowers the price once per campaign, whoever's link she came through;
- one network address (core.clients.client_bucket: the address, or its /64 for IPv6) lowers it
  at most ADDRESS_MAX times per campaign, and at most MINUTE_MAX visits per address and minute
  are looked at (a script reloading the link gets nowhere);
- visits from the sharer's own account, devices or addresses never count: they are the ones
  she used signed in on the campaign's page (DropSharer.own_keys);
- known bots and link previewers (a chat app fetching the link to show a card) are not visitors.

Keys of one campaign (the shop's id in a hash tag: one Redis Cluster slot per shop):

    vs:pd:{SHOP}:CID:ready      "1" while the live state is there (else: rebuild from PostgreSQL)
    vs:pd:{SHOP}:CID:cnt        counted shares
    vs:pd:{SHOP}:CID:sharers    set of counted sharers (fan ids)
    vs:pd:{SHOP}:CID:vis        set of visitors that counted a share (f:/d: keys)
    vs:pd:{SHOP}:CID:addr       hash address key -> shares it counted
    vs:pd:{SHOP}:CID:own:FAN    set of the sharer's own keys (f:, d:, a:)
    vs:pd:{SHOP}:CID:rl:ADDR:M  visits of an address in minute M (expires)
    vs:pd:{SHOP}:CID:visits     visits through sharers' links
    vs:pd:{SHOP}:CID:pending    list of counted shares not yet written to PostgreSQL
    vs:pd:{SHOP}:CID:flushq     "1" while a write of the pending shares is on its way (expires)

Identities are keyed hashes (HMAC with the secret key, per shop): no raw address or cookie is
stored, and one shop's keys say nothing about another's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from core.shop import current_shop_id

logger = logging.getLogger(__name__)

PREFIX = "vs:pd"
ADDRESS_MAX = 5  # shares one address may count per campaign (a household, an office)
MINUTE_MAX = 20  # visits per address and minute that are looked at
OWN_KEYS_MAX = 20  # a sharer's devices and addresses remembered (the newest win)
FLUSH_DELAY = 5  # seconds a batch of counted shares collects before it is written (tasks.py)
# Live keys outlive any campaign window (at most 30 days) and go by themselves afterwards.
LIVE_TTL = 60 * 86400


class Outcome:
    COUNTED = 0
    ALREADY = 1  # this sharer was counted before
    SELF = 2  # the sharer's own account, device or address
    LIMITED = 3  # too many visits from this address this minute
    VISITOR_USED = 4  # this visitor lowered the price once already
    ADDRESS_FULL = 5  # this address counted ADDRESS_MAX shares already
    REBUILD = -1  # Redis lost the live state: rebuild from PostgreSQL first


@dataclass(frozen=True)
class Visit:
    outcome: int
    counted: int  # counted shares after this visit
    # A counted share that found no write on its way: send one (tasks.pricedrop_flush_send).
    flush: bool = False


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def key(campaign_id: int, name: str, *, shop_id: int | None = None) -> str:
    shop = current_shop_id() if shop_id is None else shop_id
    return f"{PREFIX}:{{{shop}}}:{campaign_id}:{name}"


def identity(kind: str, raw: str, *, shop_id: int | None = None) -> str:
    """A keyed hash of RAW (a device cookie, an address) as a key of KIND ("d", "a")."""
    shop = current_shop_id() if shop_id is None else shop_id
    message = f"pricedrop|{shop}|{kind}|{raw}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:24]}"


# KEYS: ready cnt sharers vis addr own rl visits pending flushq
# ARGV: sharer visitor device fan addr address_max minute_max now_ms ttl flush_delay
_VISIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local ttl = tonumber(ARGV[9])
redis.call('INCR', KEYS[8])
local n = redis.call('INCR', KEYS[7])
if n == 1 then redis.call('EXPIRE', KEYS[7], 120) end
local cnt = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > tonumber(ARGV[7]) then return {3, cnt} end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return {1, cnt} end
if ARGV[4] == 'f:' .. ARGV[1] then return {2, cnt} end
for _, k in ipairs({ARGV[3], ARGV[4], ARGV[5]}) do
  if k ~= '' and redis.call('SISMEMBER', KEYS[6], k) == 1 then return {2, cnt} end
end
for _, k in ipairs({ARGV[2], ARGV[3], ARGV[4]}) do
  if k ~= '' and redis.call('SISMEMBER', KEYS[4], k) == 1 then return {4, cnt} end
end
if tonumber(redis.call('HGET', KEYS[5], ARGV[5]) or '0') >= tonumber(ARGV[6]) then
  return {5, cnt}
end
redis.call('SADD', KEYS[3], ARGV[1])
for _, k in ipairs({ARGV[2], ARGV[3], ARGV[4]}) do
  if k ~= '' then redis.call('SADD', KEYS[4], k) end
end
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
cnt = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[9], ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[5] .. '|' .. ARGV[8])
for i = 2, 9 do
  if i ~= 7 then redis.call('EXPIRE', KEYS[i], ttl) end
end
-- One write per FLUSH_DELAY collects the shares of those seconds (in the script: no second
-- round trip for it on the share's path).
if redis.call('SET', KEYS[10], '1', 'NX', 'EX', ARGV[10]) then return {0, cnt, 1} end
return {0, cnt, 0}
"""

# Merge PostgreSQL's record into the live state (never removes anything: a share counted in
# Redis and not yet written stays counted). KEYS: ready cnt sharers vis addr visits
# ARGV: ttl visits n_sharers sharer... visitor... then address/count pairs
_REBUILD = """
local ttl = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local i = 4
for j = 1, n do redis.call('SADD', KEYS[3], ARGV[i]); i = i + 1 end
for j = 1, n do
  if ARGV[i] ~= '' then redis.call('SADD', KEYS[4], ARGV[i]) end
  i = i + 1
end
while i < #ARGV do
  local have = tonumber(redis.call('HGET', KEYS[5], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > have then redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]) end
  i = i + 2
end
local visits = tonumber(redis.call('GET', KEYS[6]) or '0')
if tonumber(ARGV[2]) > visits then redis.call('SET', KEYS[6], ARGV[2]) end
redis.call('SET', KEYS[2], redis.call('SCARD', KEYS[3]))
redis.call('SET', KEYS[1], '1')
for k = 1, 6 do redis.call('EXPIRE', KEYS[k], ttl) end
return tonumber(redis.call('GET', KEYS[2]))
"""


@lru_cache(maxsize=4)
def _scripts(url: str) -> tuple[object, object]:
    conn = _client(url)
    return conn.register_script(_VISIT), conn.register_script(_REBUILD)


def visit_count(
    *,
    campaign_id: int,
    sharer_id: int,
    visitor: str,
    device: str,
    fan: str,
    address: str,
    now_ms: int,
    shop_id: int | None = None,
) -> Visit:
    """Count one visit through SHARER_ID's link (the rules of this module's docstring).

    VISITOR: the visitor's identity ("f:<fan id>" when signed in, else her DEVICE key); FAN:
    "f:<fan id>" or ""; ADDRESS: her address key; SHOP_ID: the current shop's unless given.
    Raises redis.RedisError when Redis is down.
    """
    minute = now_ms // 60_000
    visit_script, _rebuild = _scripts(settings.REDIS_URL)
    keys = [
        key(campaign_id, "ready", shop_id=shop_id),
        key(campaign_id, "cnt", shop_id=shop_id),
        key(campaign_id, "sharers", shop_id=shop_id),
        key(campaign_id, "vis", shop_id=shop_id),
        key(campaign_id, "addr", shop_id=shop_id),
        key(campaign_id, f"own:{sharer_id}", shop_id=shop_id),
        key(campaign_id, f"rl:{address}:{minute}", shop_id=shop_id),
        key(campaign_id, "visits", shop_id=shop_id),
        key(campaign_id, "pending", shop_id=shop_id),
        key(campaign_id, "flushq", shop_id=shop_id),
    ]
    args = [sharer_id, visitor, device, fan, address]
    args += [ADDRESS_MAX, MINUTE_MAX, now_ms, LIVE_TTL, FLUSH_DELAY]
    found = visit_script(keys=keys, args=args)  # type: ignore[operator]
    flush = len(found) > 2 and int(found[2]) == 1
    return Visit(outcome=int(found[0]), counted=int(found[1]), flush=flush)


def live_count(*, campaign_id: int) -> int | None:
    """Counted shares in Redis; None when the live state is missing (rebuild it)."""
    ready, cnt = client().mget([key(campaign_id, "ready"), key(campaign_id, "cnt")])
    if ready is None:
        return None
    return int(cnt or 0)


def live_visits(*, campaign_id: int) -> int:
    return int(client().get(key(campaign_id, "visits")) or 0)


def own_keys_add(*, campaign_id: int, sharer_id: int, keys: Iterable[str]) -> bool:
    """Remember KEYS as the sharer's own; True when one of them was new."""
    own = key(campaign_id, f"own:{sharer_id}")
    members = [k for k in keys if k]
    if not members:
        return False
    pipe = client().pipeline(transaction=True)
    pipe.sadd(own, *members)
    pipe.expire(own, LIVE_TTL)
    added, _ok = pipe.execute()
    return bool(added)


def rebuild(
    *,
    campaign_id: int,
    sharers: Sequence[tuple[int, str]],
    addresses: dict[str, int],
    own: dict[int, list[str]],
    visits: int,
) -> int:
    """Merge PostgreSQL's counted SHARERS ((fan id, visitor key)), ADDRESSES (key → shares),
    OWN keys and VISITS into Redis and mark the live state ready; returns the count."""
    _visit, rebuild_script = _scripts(settings.REDIS_URL)
    pipe = client().pipeline(transaction=True)
    for sharer_id, keys in own.items():
        if keys:
            pipe.sadd(key(campaign_id, f"own:{sharer_id}"), *keys)
            pipe.expire(key(campaign_id, f"own:{sharer_id}"), LIVE_TTL)
    pipe.execute()
    args: list[object] = [LIVE_TTL, visits, len(sharers)]
    args += [s for s, _v in sharers] + [v for _s, v in sharers]
    for address, n in addresses.items():
        args += [address, n]
    keys = [key(campaign_id, name) for name in ("ready", "cnt", "sharers", "vis", "addr")]
    keys.append(key(campaign_id, "visits"))
    return int(rebuild_script(keys=keys, args=args))  # type: ignore[operator]


def pending_read(
    *, campaign_id: int, limit: int = 500
) -> tuple[int, list[tuple[int, str, str, int]]]:
    """The oldest LIMIT entries not yet written: how many were read, and the counted shares
    among them as (sharer id, visitor, address, ms)."""
    rows = client().lrange(key(campaign_id, "pending"), 0, limit - 1)
    found = []
    for raw in rows:
        parts = (raw.decode() if isinstance(raw, bytes) else str(raw)).split("|")
        if len(parts) == 4 and parts[0].isdigit() and parts[3].isdigit():
            found.append((int(parts[0]), parts[1], parts[2], int(parts[3])))
        else:  # never written by this module; dropped with the batch
            logger.warning("pricedrop: pending entry %r ignored", raw)
    return len(rows), found


def pending_trim(*, campaign_id: int, n: int) -> None:
    """Drop the N oldest pending entries (written to PostgreSQL)."""
    client().ltrim(key(campaign_id, "pending"), n, -1)


def pending_size(*, campaign_id: int) -> int:
    return int(client().llen(key(campaign_id, "pending")))


def lock(*, campaign_id: int, name: str, seconds: int = 30) -> bool:
    """A short lock (SET NX EX) so one flush or rebuild of a campaign runs at a time."""
    return bool(client().set(key(campaign_id, f"lock:{name}"), "1", nx=True, ex=seconds))


def unlock(*, campaign_id: int, name: str) -> None:
    client().delete(key(campaign_id, f"lock:{name}"))
