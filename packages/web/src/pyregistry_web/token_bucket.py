"""Per-client token buckets in a bounded table that forgets the least recently seen client first."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

import msgspec

__all__ = ["BucketDecision", "TokenBucketLimiter"]

_MINUTE_NS = 60_000_000_000


class BucketDecision(msgspec.Struct, frozen=True):
    """Whether one request may pass; when not, how many seconds until the client's next token."""

    allowed: bool
    retry_after_seconds: float = 0.0


class TokenBucketLimiter:
    """Token buckets of ``burst`` tokens refilled at ``requests_per_minute``, one per client key.

    Arithmetic is exact: a bucket holds ``tokens * 60e9`` in integer units and refills by ``requests_per_minute``
    units per elapsed nanosecond, so no client is ever let through more than ``burst + rate * elapsed`` requests.
    At most ``max_tracked_clients`` buckets are kept; the least recently used is evicted first (an evicted client
    starts again with a full bucket, as a new one would). Not thread-safe: call it from one event loop.
    """

    def __init__(
        self,
        requests_per_minute: int,
        burst: int,
        max_tracked_clients: int,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if requests_per_minute <= 0 or burst <= 0 or max_tracked_clients <= 0:
            raise ValueError("requests_per_minute, burst and max_tracked_clients must be greater than zero")
        self._rate = requests_per_minute
        self._capacity = burst * _MINUTE_NS
        self._max_clients = max_tracked_clients
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    def take(self, key: Hashable) -> BucketDecision:
        """Spend one token of ``key``'s bucket if it has one."""
        now = self._clock()
        state = self._buckets.pop(key, None)
        if state is None:
            units = self._capacity
        else:
            stored, last = state
            units = min(self._capacity, stored + max(0, now - last) * self._rate)
        if units >= _MINUTE_NS:
            self._remember(key, units - _MINUTE_NS, now)
            return BucketDecision(allowed=True)
        self._remember(key, units, now)
        wait_ns = -(-(_MINUTE_NS - units) // self._rate)
        return BucketDecision(allowed=False, retry_after_seconds=wait_ns / 1e9)

    def give_back(self, key: Hashable) -> None:
        """Return one token to ``key``'s bucket (never above ``burst``); a forgotten client is left alone."""
        state = self._buckets.get(key)
        if state is not None:
            units, last = state
            self._buckets[key] = (min(self._capacity, units + _MINUTE_NS), last)

    def _remember(self, key: Hashable, units: int, now: int) -> None:
        self._buckets[key] = (units, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
