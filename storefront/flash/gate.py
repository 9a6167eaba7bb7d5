"""The Redis side of a flash sale: one Lua script decides every grab (DESIGN.md: "Redis gates,
PostgreSQL records").

A Postgres row takes about 1,000 durable decrements a second; a Lua check-and-decrement about
43,000. So the rush never touches PostgreSQL: `gate_grab` answers at once and pushes each win
onto the sale's stream, and writer.py records the wins in batches. Nothing here imports the ORM
at call time: the lean buy endpoint calls `gate_grab`, `gate_status` and `gate_register` with
plain ids. Only `gate_load` and `gate_rebuild` (scheduling, reconciliation) read models.

Keys of one sale (the braces are a Redis Cluster hash tag: all of a sale's keys live on one
slot, so one script may touch them all; the schema keeps shops apart):

    flash:{SCHEMA:SALE}:m   hash    starts, ends, announce (epoch ms), limit, regonly, pay (ms),
                                    open ("1" while scheduled or live, "0" once ended/cancelled),
                                    quantity
    flash:{SCHEMA:SALE}:l   string  units left in the gate
    flash:{SCHEMA:SALE}:i   hash    idem key -> "FAN|DEADLINE_MS|w" (won) or "…|x" (released)
    flash:{SCHEMA:SALE}:b   hash    fan -> units she holds (won and not released)
    flash:{SCHEMA:SALE}:r   set     fans registered (预约)
    flash:{SCHEMA:SALE}:s   stream  wins for the writer: g = "FAN|IDEM|WON_MS|DEADLINE_MS"
                                    (acknowledged when recorded, kept until the keys expire)
    flash:{SCHEMA:SALE}:n   string  attempts (every grab call that reached the script)
    flash:{SCHEMA:SALE}:v   HLL     visitors of the sale's page (gate_visit)

The meta also keeps "soldout": when the last unit first went (epoch ms), for the report.

Invariant (kept by every script, checked by reconcile.py): left = quantity − number of "w"
entries in i; b[fan] = that fan's "w" entries. The stream holds every "w" entry not yet in
PostgreSQL, so PostgreSQL's held grabs ⊆ the "w" entries: it can never hold more than quantity.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast

import redis
from django.conf import settings

if TYPE_CHECKING:
    from .models import FlashSale

GrabStatus = Literal[
    "won", "sold_out", "limit", "not_open", "closed", "not_registered", "unknown", "too_fast"
]
GROUP = "writer"  # the stream's consumer group (writer.py)
IDEM = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SCHEMA = re.compile(r"^[a-z0-9_]{1,63}$")
# A sale's keys outlive it by a week (the report reads the attempts; reconciliation may run late).
TTL_AFTER_END_MS = 7 * 86400 * 1000


@dataclass(frozen=True)
class Grab:
    status: GrabStatus
    pay_deadline_ms: int | None = None
    duplicate: bool = False


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # The buy answer must come fast or not at all: a stuck Redis gives "unknown", not a queue.
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    """The Redis the gate uses (settings.REDIS_URL; connections pooled per process)."""
    return _client(settings.REDIS_URL)


def keys(schema: str, sale_id: int) -> dict[str, str]:
    tag = f"flash:{{{schema}:{int(sale_id)}}}"
    return {k: f"{tag}:{k}" for k in ("m", "l", "i", "b", "r", "s", "n", "v")}


def _key_list(schema: str, sale_id: int) -> list[str]:
    k = keys(schema, sale_id)
    return [k["m"], k["l"], k["i"], k["b"], k["r"], k["s"], k["n"], k["v"]]


def now_ms() -> int:
    return int(time.time() * 1000)


# KEYS: m l i b r s n   ARGV: fan idem now_ms
# Returns {status, deadline_ms or "", duplicate 0/1}.
_GRAB = """
local m = redis.call('HMGET', KEYS[1], 'starts', 'ends', 'limit', 'regonly', 'pay', 'open')
if not m[1] then return {'unknown', '', 0} end
redis.call('INCR', KEYS[7])
local seen = redis.call('HGET', KEYS[3], ARGV[2])
if seen then
  local fan, dl = string.match(seen, '^(%d+)|(%d+)|')
  if fan ~= ARGV[1] then return {'unknown', '', 0} end
  return {'won', dl, 1}
end
if m[6] ~= '1' then return {'closed', '', 0} end
local now = tonumber(ARGV[3])
if now < tonumber(m[1]) then return {'not_open', '', 0} end
if now >= tonumber(m[2]) then return {'closed', '', 0} end
if m[4] == '1' and redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 0 then
  return {'not_registered', '', 0}
end
local held = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
if held >= tonumber(m[3]) then return {'limit', '', 0} end
local left = tonumber(redis.call('GET', KEYS[2]) or '0')
if left <= 0 then return {'sold_out', '', 0} end
local dl = now + tonumber(m[5])
if redis.call('DECR', KEYS[2]) == 0 then redis.call('HSETNX', KEYS[1], 'soldout', ARGV[3]) end
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1] .. '|' .. dl .. '|w')
redis.call('XADD', KEYS[6], '*', 'g', ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. dl)
return {'won', tostring(dl), 0}
"""


def _rate_lua(fan: int, client: int, arg: int) -> str:
    """The press's rate limits as the start of a script: the fan's and the client's window
    counters are KEYS[FAN] and KEYS[CLIENT] (edge.py names them, under the sale's hash tag);
    ARGV[ARG..ARG+3]: fan window ttl, client window ttl, fan max, client max. Over either,
    the script returns "too_fast" there.

    Fixed windows: the window's number is in the key, so a key lives at most one window. A
    press already over the fan's rate is not counted against her address: one script behind a
    carrier NAT must not use up the presses of every other buyer behind it."""
    return f"""
local f = redis.call('INCR', KEYS[{fan}])
if f == 1 then redis.call('EXPIRE', KEYS[{fan}], ARGV[{arg}]) end
if f > tonumber(ARGV[{arg + 2}]) then return {{'too_fast', '', 0}} end
local c = redis.call('INCR', KEYS[{client}])
if c == 1 then redis.call('EXPIRE', KEYS[{client}], ARGV[{arg + 1}]) end
if c > tonumber(ARGV[{arg + 3}]) then return {{'too_fast', '', 0}} end
"""


# KEYS: the two window counters; ARGV: the four rates. The limits alone (a captcha's check
# goes between them and the gate).
_RATE = _rate_lua(1, 2, 1) + "return {'ok', '', 0}\n"
# KEYS: m l i b r s n, then the two window counters; ARGV: fan idem now_ms, then the rates.
# The limits and the grab in one script: one round trip on the rush's path.
_RATED_GRAB = _rate_lua(8, 9, 4) + _GRAB

# KEYS: m l i b   ARGV: fan idem. A won grab's unit back into the sale (once). 1 if released.
_RELEASE = """
local seen = redis.call('HGET', KEYS[3], ARGV[2])
if not seen then return 0 end
local fan, dl, st = string.match(seen, '^(%d+)|(%d+)|(%a)$')
if fan ~= ARGV[1] or st ~= 'w' then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], fan .. '|' .. dl .. '|x')
redis.call('INCR', KEYS[2])
if redis.call('HINCRBY', KEYS[4], fan, -1) <= 0 then redis.call('HDEL', KEYS[4], fan) end
return 1
"""

# KEYS: m l i b   ARGV: fan idem deadline_ms. Record a grab PostgreSQL holds that the gate has
# lost (a partial loss of Redis): it takes a unit. 1 if adopted.
_ADOPT = """
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1] .. '|' .. ARGV[3] .. '|w')
redis.call('DECR', KEYS[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
return 1
"""

# KEYS: m l i b  ARGV: "apply" or "check". Recompute left and the per-fan counts from the idem
# hash (the source of truth inside Redis), atomically with respect to grabs ("check" only
# reads). Returns {left now, left by the grabs}.
_REPAIR = """
local q = tonumber(redis.call('HGET', KEYS[1], 'quantity') or '-1')
if q < 0 then return {-1, -1} end
local before = tonumber(redis.call('GET', KEYS[2]) or '0')
local vals = redis.call('HVALS', KEYS[3])
local apply = ARGV[1] == 'apply'
local held = 0
local per = {}
for _, v in ipairs(vals) do
  local fan, st = string.match(v, '^(%d+)|%d+|(%a)$')
  if st == 'w' then
    held = held + 1
    per[fan] = (per[fan] or 0) + 1
  end
end
local after = q - held
if after < 0 then after = 0 end
if apply then
  redis.call('DEL', KEYS[4])
  for fan, n in pairs(per) do redis.call('HSET', KEYS[4], fan, n) end
  redis.call('SET', KEYS[2], after)
end
return {before, after}
"""

# KEYS: m l i b r s n. ARGV: the meta as field/value pairs, then "--", then the grabs
# PostgreSQL holds as triples idem, fan, "DEADLINE|st". Writes the gate's units and grabs from
# PostgreSQL plus every win still on the stream (the writer acknowledges entries but never
# deletes them, so a win it has not recorded yet is never forgotten). The registered set is
# kept. The meta (which opens the gate) is written last, so no grab sees a half-built gate.
_REBUILD = """
for i = 2, 4 do redis.call('DEL', KEYS[i]) end
local sep = 0
for i = 1, #ARGV do if ARGV[i] == '--' then sep = i break end end
local q = 0
for i = 1, sep - 1, 2 do if ARGV[i] == 'quantity' then q = tonumber(ARGV[i + 1]) end end
local held = 0
for i = sep + 1, #ARGV, 3 do
  local idem, fan, rest = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('HSET', KEYS[3], idem, fan .. '|' .. rest)
  if string.sub(rest, -1) == 'w' then
    held = held + 1
    redis.call('HINCRBY', KEYS[4], fan, 1)
  end
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[6], '-', '+')) do
    local f = entry[2]
    local fan, idem, won, dl = string.match(f[2], '^(%d+)|([^|]+)|(%d+)|(%d+)$')
    if fan and redis.call('HEXISTS', KEYS[3], idem) == 0 then
      redis.call('HSET', KEYS[3], idem, fan .. '|' .. dl .. '|w')
      held = held + 1
      redis.call('HINCRBY', KEYS[4], fan, 1)
    end
  end
end
local left = q - held
if left < 0 then left = 0 end
redis.call('SET', KEYS[2], left)
local soldout = redis.call('HGET', KEYS[1], 'soldout')
redis.call('DEL', KEYS[1])
for i = 1, sep - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if soldout then redis.call('HSET', KEYS[1], 'soldout', soldout) end
return left
"""

# KEYS: m  ARGV: the meta as field/value pairs. Update the terms of a loaded gate (no-op when
# the gate is not loaded: reconciliation then rebuilds it). Left changes by ARGV "add".
_TERMS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i] == 'add' then redis.call('INCRBY', KEYS[2], ARGV[i + 1])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


@lru_cache(maxsize=8)
def _script(source: str, url: str) -> redis.commands.core.Script:
    return _client(url).register_script(source)


def _run(source: str, key_list: list[str], args: list[Any]) -> Any:
    return _script(source, settings.REDIS_URL)(keys=key_list, args=args)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _valid(schema: str, sale_id: int, fan_id: int, idem_key: str) -> bool:
    return (
        isinstance(schema, str)
        and SCHEMA.match(schema) is not None
        and isinstance(sale_id, int)
        and isinstance(fan_id, int)
        and 0 < sale_id < 2**62
        and 0 < fan_id < 2**62
        and isinstance(idem_key, str)
        and IDEM.match(idem_key) is not None
    )


def gate_grab(
    *, schema: str, sale_id: int, fan_id: int, idem_key: str, now_ms: int | None = None
) -> Grab:
    """One buyer's attempt, decided atomically by one Lua script: sale open, fan allowed,
    per-buyer limit, units left, idempotency (the same IDEM_KEY gives the first win again,
    duplicate=True). A win is pushed onto the sale's stream for writer.py. Redis only."""
    if not _valid(schema, sale_id, fan_id, idem_key):
        return Grab("unknown")
    at = now_ms if now_ms is not None else _now()
    status, deadline, dup = _run(_GRAB, _key_list(schema, sale_id), [fan_id, idem_key, at])
    deadline_ms = int(deadline) if deadline not in (b"", "", None) else None
    return Grab(cast(GrabStatus, _text(status)), deadline_ms, bool(int(dup)))


def _rate_keys_checked(schema: str, sale_id: int, rate_keys: tuple[str, str]) -> list[str]:
    tag = f"flash:{{{schema}:{int(sale_id)}}}:"
    if not all(k.startswith(tag) for k in rate_keys):
        raise ValueError("rate keys outside the sale's hash tag")
    return list(rate_keys)


def gate_rate_ok(
    *, schema: str, sale_id: int, rate_keys: tuple[str, str], rates: tuple[int, int, int, int]
) -> bool:
    """Count a press against the fan's and the client's windows (RATE_KEYS, under the sale's
    hash tag) and their RATES (fan ttl, client ttl, fan max, client max); False: too fast."""
    status = _run(_RATE, _rate_keys_checked(schema, sale_id, rate_keys), list(rates))[0]
    return _text(status) == "ok"


def gate_grab_rated(
    *,
    schema: str,
    sale_id: int,
    fan_id: int,
    idem_key: str,
    rate_keys: tuple[str, str],
    rates: tuple[int, int, int, int],
    now_ms: int | None = None,
) -> Grab:
    """gate_rate_ok and then gate_grab in one script: "too_fast" over the rates, and then the
    gate is not asked."""
    if not _valid(schema, sale_id, fan_id, idem_key):
        return Grab("unknown")
    keys = _rate_keys_checked(schema, sale_id, rate_keys)
    at = now_ms if now_ms is not None else _now()
    status, deadline, dup = _run(
        _RATED_GRAB, [*_key_list(schema, sale_id)[:7], *keys], [fan_id, idem_key, at, *rates]
    )
    deadline_ms = int(deadline) if deadline not in (b"", "", None) else None
    return Grab(cast(GrabStatus, _text(status)), deadline_ms, bool(int(dup)))


def _now() -> int:
    return now_ms()


def gate_status(*, schema: str, sale_id: int, now_ms: int | None = None) -> dict[str, object]:
    """What a page's countdown shows: {"state": "upcoming|live|sold_out|ended", "left",
    "starts_at", "ends_at" (epoch s), "registered"}. Redis only; an unloaded gate reads as
    ended with nothing left."""
    k = keys(schema, sale_id)
    pipe = client().pipeline(transaction=False)
    pipe.hmget(k["m"], "starts", "ends", "open")
    pipe.get(k["l"])
    pipe.scard(k["r"])
    meta, left_raw, registered = pipe.execute()
    if meta[0] is None:
        return {"state": "ended", "left": 0, "starts_at": 0, "ends_at": 0, "registered": 0}
    starts, ends = int(meta[0]), int(meta[1])
    left = max(int(left_raw or 0), 0)
    at = now_ms if now_ms is not None else _now()
    if meta[2] != b"1" or at >= ends:
        state = "ended"
    elif at < starts:
        state = "upcoming"
    elif left <= 0:
        state = "sold_out"
    else:
        state = "live"
    return {
        "state": state,
        "left": left,
        "starts_at": starts // 1000,
        "ends_at": ends // 1000,
        "registered": int(registered),
    }


def gate_register(*, schema: str, sale_id: int, fan_id: int) -> bool:
    """Add FAN to the sale's registered set (预约); True if she was not in it yet."""
    if not _valid(schema, sale_id, fan_id, "x"):
        return False
    return bool(client().sadd(keys(schema, sale_id)["r"], fan_id))


def gate_registered_count(*, schema: str, sale_id: int) -> int:
    return int(client().scard(keys(schema, sale_id)["r"]))


def gate_release(*, schema: str, sale_id: int, fan_id: int, idem_key: str) -> bool:
    """An expired (or refused) grab's unit back into the sale, once; True if it was released."""
    if not _valid(schema, sale_id, fan_id, idem_key):
        return False
    return bool(_run(_RELEASE, _key_list(schema, sale_id)[:4], [fan_id, idem_key]))


def gate_adopt(*, schema: str, sale_id: int, fan_id: int, idem_key: str, deadline_ms: int) -> bool:
    """Record in the gate a grab PostgreSQL holds and the gate lost; True if it took a unit."""
    k = _key_list(schema, sale_id)[:4]
    return bool(_run(_ADOPT, k, [fan_id, idem_key, deadline_ms]))


def gate_repair(*, schema: str, sale_id: int, apply: bool = True) -> tuple[int, int]:
    """Units left in the gate and units left by its own grabs: (now, by the grabs); with APPLY
    the first is set to the second and the per-fan counts recomputed. (-1, -1) when the gate
    is not loaded."""
    args = ["apply" if apply else "check"]
    before, after = _run(_REPAIR, _key_list(schema, sale_id)[:4], args)
    return int(before), int(after)


def gate_loaded(*, schema: str, sale_id: int) -> bool:
    return bool(client().exists(keys(schema, sale_id)["m"]))


def gate_idem(*, schema: str, sale_id: int, idem_key: str) -> tuple[int, int, str] | None:
    """(fan, deadline ms, "w"|"x") of a grab the gate knows by its idem key, else None."""
    raw = client().hget(keys(schema, sale_id)["i"], idem_key)
    if raw is None:
        return None
    fan, deadline, state = _text(raw).split("|")
    return int(fan), int(deadline), state


def gate_idem_all(*, schema: str, sale_id: int) -> dict[str, tuple[int, int, str]]:
    out: dict[str, tuple[int, int, str]] = {}
    for idem, raw in client().hgetall(keys(schema, sale_id)["i"]).items():
        fan, deadline, state = _text(raw).split("|")
        out[_text(idem)] = (int(fan), int(deadline), state)
    return out


def gate_left(*, schema: str, sale_id: int) -> int:
    return int(client().get(keys(schema, sale_id)["l"]) or 0)


def gate_attempts(*, schema: str, sale_id: int) -> int:
    return int(client().get(keys(schema, sale_id)["n"]) or 0)


def gate_visit(*, schema: str, sale_id: int, visitor: str) -> None:
    """Count VISITOR (any stable, non-personal key: a hashed client, a fan id) as a visitor of
    the sale's page (a HyperLogLog: about 12 kB whatever the crowd)."""
    client().pfadd(keys(schema, sale_id)["v"], visitor)


def gate_figures(*, schema: str, sale_id: int) -> dict[str, int | None]:
    """What the after-sale report reads from Redis: attempts, visitors, registered, and when
    the last unit first went (epoch ms, None if it never sold out)."""
    k = keys(schema, sale_id)
    pipe = client().pipeline(transaction=False)
    pipe.get(k["n"])
    pipe.pfcount(k["v"])
    pipe.scard(k["r"])
    pipe.hget(k["m"], "soldout")
    attempts, visitors, registered, soldout = pipe.execute()
    return {
        "attempts": int(attempts or 0),
        "visitors": int(visitors or 0),
        "registered": int(registered or 0),
        "soldout_ms": int(soldout) if soldout else None,
    }


def _ms(value: object) -> int:
    return int(value.timestamp() * 1000)  # type: ignore[attr-defined]


def _meta(sale: FlashSale) -> list[Any]:
    from .models import FlashSale

    is_open = sale.state in (FlashSale.State.SCHEDULED, FlashSale.State.LIVE)
    return [
        "starts",
        _ms(sale.starts_at),
        "ends",
        _ms(sale.ends_at),
        "announce",
        _ms(sale.announce_at),
        "limit",
        sale.per_buyer_limit,
        "regonly",
        "1" if sale.registered_only else "0",
        "pay",
        sale.pay_minutes * 60_000,
        "open",
        "1" if is_open else "0",
        "quantity",
        sale.quantity,
    ]


def _stream_group_ensure(stream_key: str) -> None:
    try:
        client().xgroup_create(stream_key, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def gate_load(*, sale: FlashSale, schema: str | None = None, fresh: bool = False) -> None:
    """(Re)write SALE's whole gate from PostgreSQL: its terms, its recorded grabs, and units
    left = quantity − units held by won/ordered/paid grabs. What scheduling and reconciliation
    after a loss of Redis use. Registrations (the set r) are kept: they are rebuilt from
    FlashRegistration rows only when Redis lost them (reconcile.py). Wins on the stream that
    PostgreSQL has not recorded yet are kept as wins, so it is safe during the rush.

    FRESH (a sale just scheduled): every key of the sale is wiped first, so nothing a former
    shop of the same schema name left under the same sale id can count."""
    from core.shop import current_schema

    from .models import FlashGrab

    schema = schema or current_schema()
    key_list = _key_list(schema, sale.pk)
    if fresh:
        client().delete(*key_list)
    args: list[Any] = [*_meta(sale), "--"]
    for idem, fan, deadline, status in FlashGrab.objects.filter(sale=sale).values_list(
        "idem_key", "fan_id", "pay_deadline", "status"
    ):
        held = status != FlashGrab.Status.EXPIRED
        args += [idem, fan, f"{_ms(deadline)}|{'w' if held else 'x'}"]
    _run(_REBUILD, key_list, args)
    _stream_group_ensure(keys(schema, sale.pk)["s"])
    gate_expire_set(sale=sale, schema=schema)


def gate_terms(*, sale: FlashSale, schema: str | None = None, add_units: int = 0) -> bool:
    """Push SALE's changed terms (window, limit, open, quantity) into a loaded gate, adding
    ADD_UNITS to units left; False when the gate is not loaded."""
    from core.shop import current_schema

    schema = schema or current_schema()
    args = [*_meta(sale), "add", add_units]
    done = bool(_run(_TERMS, _key_list(schema, sale.pk)[:2], args))
    if done:
        gate_expire_set(sale=sale, schema=schema)
    return done


def gate_expire_set(*, sale: FlashSale, schema: str) -> None:
    """The sale's keys go by themselves a week after its end."""
    at = _ms(sale.ends_at) + TTL_AFTER_END_MS
    pipe = client().pipeline(transaction=False)
    for key in _key_list(schema, sale.pk):
        pipe.pexpireat(key, at)
    pipe.execute()


def gate_registered_restore(*, schema: str, sale_id: int, fan_ids: list[int]) -> int:
    """Put registered fans back into the set (after Redis lost it); how many were added."""
    if not fan_ids:
        return 0
    added = 0
    key = keys(schema, sale_id)["r"]
    for start in range(0, len(fan_ids), 5000):
        added += int(client().sadd(key, *fan_ids[start : start + 5000]))
    return added
