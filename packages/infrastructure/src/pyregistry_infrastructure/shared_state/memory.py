"""Limit counters in this process: the single-node default."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from pyregistry_application.limit_counters import (
    TOKEN_UNITS,
    BucketDecision,
    BucketLimits,
    ThrottlePolicy,
    attempt_wait_ms,
    refilled_units,
)

__all__ = ["MemoryLimitCounters"]


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class MemoryLimitCounters:
    """Buckets and failure counts in bounded tables that forget the least recently used key first.

    An evicted bucket starts full again and an evicted failure count starts at zero, as a new client's would.
    Thread-safe; every node has its own, so limits are per node.
    """

    def __init__(
        self,
        *,
        max_buckets: int = 10_000,
        max_attempt_keys: int = 10_000,
        clock_ms: Callable[[], int] = _monotonic_ms,
    ) -> None:
        if max_buckets <= 0 or max_attempt_keys <= 0:
            raise ValueError("max_buckets and max_attempt_keys must be greater than zero")
        self._max_buckets = max_buckets
        self._max_attempt_keys = max_attempt_keys
        self._clock_ms = clock_ms
        self._buckets: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._attempts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def tracked_buckets(self) -> int:
        """How many buckets are held right now."""
        return len(self._buckets)

    @property
    def tracked_attempt_keys(self) -> int:
        """How many failure counts are held right now."""
        return len(self._attempts)

    def take_token(self, key: str, limits: BucketLimits) -> BucketDecision:
        """Spend one token of ``key``'s bucket if it has one."""
        now = self._clock_ms()
        with self._lock:
            state = self._buckets.pop(key, None)
            units = limits.capacity if state is None else refilled_units(*state, now, limits)
            allowed = units >= TOKEN_UNITS
            self._remember(self._buckets, key, (units - TOKEN_UNITS if allowed else units, now), self._max_buckets)
        if allowed:
            return BucketDecision(allowed=True)
        wait_ms = -(-(TOKEN_UNITS - units) // limits.requests_per_minute)
        return BucketDecision(allowed=False, retry_after_seconds=wait_ms / 1000)

    def give_back_token(self, key: str, limits: BucketLimits) -> None:
        """Return one token to ``key``'s bucket (never above its burst)."""
        with self._lock:
            state = self._buckets.get(key)
            if state is not None:
                self._buckets[key] = (min(limits.capacity, state[0] + TOKEN_UNITS), state[1])

    def reserve_attempt(self, keys: Mapping[str, int], policy: ThrottlePolicy) -> int:
        """The wait in ms when a key is throttled, else ``0`` with a failure recorded under every key."""
        now = self._clock_ms()
        with self._lock:
            live = {key: self._live_attempts(key, now, policy) for key in keys}
            wait = max(
                (attempt_wait_ms(state[0], state[1], keys[key], now, policy) for key, state in live.items() if state),
                default=0,
            )
            if wait == 0:
                for key, state in live.items():
                    count = state[0] + 1 if state else 1
                    self._remember(self._attempts, key, (count, now), self._max_attempt_keys)
            return wait

    def refund_attempt(self, keys: Mapping[str, int]) -> None:
        """Take back one failure under each of these keys."""
        with self._lock:
            for key in keys:
                state = self._attempts.get(key)
                if state is not None:
                    self._attempts[key] = (max(state[0] - 1, 0), state[1])

    def clear(self, keys: Mapping[str, int]) -> None:
        """Forget the failures of these keys."""
        with self._lock:
            for key in keys:
                self._attempts.pop(key, None)

    def _live_attempts(self, key: str, now: int, policy: ThrottlePolicy) -> tuple[int, int] | None:
        state = self._attempts.pop(key, None)
        if state is None or now - state[1] > policy.window_ms:
            return None
        self._attempts[key] = state
        return state

    @staticmethod
    def _remember(table: OrderedDict[str, tuple[int, int]], key: str, state: tuple[int, int], limit: int) -> None:
        table[key] = state
        table.move_to_end(key)
        while len(table) > limit:
            table.popitem(last=False)
