"""Limit counters in Redis: each operation is one Lua script, so it is atomic, and every key has a TTL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyregistry_application.limit_counters import (
    MAX_DOUBLINGS,
    TOKEN_UNITS,
    BucketDecision,
    BucketLimits,
    LimitCountersUnavailable,
    ThrottlePolicy,
)
from pyregistry_infrastructure.secret_masking import mask_url

if TYPE_CHECKING:
    import redis

__all__ = ["RedisLimitCounters"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_TAKE = (
    _NOW
    + """
local rate, cap, token, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'u', 's')
local units = cap
if state[1] then
  units = math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed = units >= token
if allowed then units = units - token end
redis.call('HSET', KEYS[1], 'u', units, 's', now)
redis.call('PEXPIRE', KEYS[1], ttl)
if allowed then return 0 end
return math.ceil((token - units) / rate)
"""
)

_GIVE_BACK = """
local units = redis.call('HGET', KEYS[1], 'u')
if units then redis.call('HSET', KEYS[1], 'u', math.min(tonumber(ARGV[1]), tonumber(units) + tonumber(ARGV[2]))) end
return 0
"""

_RESERVE = (
    _NOW
    + """
local base, max, window, doublings = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = 0
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'c', 'l')
  if state[1] then
    local count, last, free = tonumber(state[1]), tonumber(state[2]), tonumber(ARGV[4 + i])
    if count >= free and now - last <= window then
      local delay = math.min(base * 2 ^ math.min(count - free, doublings), max)
      wait = math.max(wait, last + delay - now)
    end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  local last = redis.call('HGET', key, 'l')
  if last and now - tonumber(last) <= window then
    redis.call('HINCRBY', key, 'c', 1)
    redis.call('HSET', key, 'l', now)
  else
    redis.call('HSET', key, 'c', 1, 'l', now)
  end
  redis.call('PEXPIRE', key, window + 1)
end
return 0
"""
)

_REFUND = """
for _, key in ipairs(KEYS) do
  local count = redis.call('HGET', key, 'c')
  if count and tonumber(count) > 0 then redis.call('HINCRBY', key, 'c', -1) end
end
return 0
"""


class RedisLimitCounters:
    """Buckets (hash ``u``/``s``) and failure counts (hash ``c``/``l``) under ``prefix``, timed by the Redis
    server's clock so nodes with skewed clocks still agree. A bucket expires once it would be full again and a
    failure count once its window has passed, so Redis holds only live state.

    The reservation touches several keys in one script: use a single Redis server (or a cluster with hash tags).
    """

    def __init__(self, url: str, *, prefix: str = "pyregistry:limits:", timeout_seconds: float = 1.0) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._location = mask_url(url)
        self._prefix = prefix
        self._client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 1),  # one immediate retry (a pooled connection Redis closed), then give up
        )
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._take = self._client.register_script(_TAKE)
        self._give_back = self._client.register_script(_GIVE_BACK)
        self._reserve = self._client.register_script(_RESERVE)
        self._refund = self._client.register_script(_REFUND)

    def take_token(self, key: str, limits: BucketLimits) -> BucketDecision:
        """Spend one token of ``key``'s bucket if it has one."""
        arguments = [limits.requests_per_minute, limits.capacity, TOKEN_UNITS, limits.refill_ms + 1]
        wait_ms = int(self._run(self._take, [self._key("bucket", key)], arguments))
        if wait_ms == 0:
            return BucketDecision(allowed=True)
        return BucketDecision(allowed=False, retry_after_seconds=wait_ms / 1000)

    def give_back_token(self, key: str, limits: BucketLimits) -> None:
        """Return one token to ``key``'s bucket (never above its burst)."""
        self._run(self._give_back, [self._key("bucket", key)], [limits.capacity, TOKEN_UNITS])

    def reserve_attempt(self, keys: Mapping[str, int], policy: ThrottlePolicy) -> int:
        """The wait in ms when a key is throttled, else ``0`` with a failure recorded under every key."""
        names = [self._key("attempts", key) for key in keys]
        arguments = [policy.base_delay_ms, policy.max_delay_ms, policy.window_ms, MAX_DOUBLINGS, *keys.values()]
        return int(self._run(self._reserve, names, arguments))

    def refund_attempt(self, keys: Mapping[str, int]) -> None:
        """Take back one failure under each of these keys."""
        self._run(self._refund, [self._key("attempts", key) for key in keys], [])

    def clear(self, keys: Mapping[str, int]) -> None:
        """Forget the failures of these keys."""
        names = [self._key("attempts", key) for key in keys]
        try:
            if names:
                self._client.delete(*names)
        except self._errors as exc:
            raise self._unavailable(exc) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _key(self, kind: str, key: str) -> str:
        return f"{self._prefix}{kind}:{key}"

    def _run(self, script: Any, keys: Sequence[str], arguments: Sequence[int]) -> Any:
        try:
            return script(keys=list(keys), args=list(arguments))
        except self._errors as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: Exception) -> LimitCountersUnavailable:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        return LimitCountersUnavailable(f"Redis at {self._location} is unavailable: {reason}")
