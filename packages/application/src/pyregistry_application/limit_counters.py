"""The port for rate-limit buckets and login-failure counters, and the arithmetic every adapter shares.

Buckets hold ``tokens * TOKEN_UNITS`` integer units and refill by ``requests_per_minute`` units per elapsed
millisecond, so one token comes back every ``60_000 / requests_per_minute`` ms exactly. Attempt counters hold a
failure count and the time of the last failure; past a key's free failures each failure doubles the wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import msgspec

__all__ = [
    "MAX_DOUBLINGS",
    "TOKEN_UNITS",
    "BucketDecision",
    "BucketLimits",
    "LimitCounters",
    "LimitCountersUnavailable",
    "ThrottlePolicy",
    "attempt_wait_ms",
    "refilled_units",
]

TOKEN_UNITS = 60_000
"""One token in bucket units: a bucket refills ``requests_per_minute`` units per millisecond."""

MAX_DOUBLINGS = 30
"""The wait stops doubling after this many failures past the free ones (it is capped by ``max_delay_ms`` anyway)."""


class LimitCountersUnavailable(Exception):
    """The shared store holding the counters cannot be reached; the message says which and why."""


class BucketLimits(msgspec.Struct, frozen=True):
    """A token bucket of ``burst`` tokens refilled at ``requests_per_minute``."""

    requests_per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.requests_per_minute <= 0 or self.burst <= 0:
            raise ValueError("requests_per_minute and burst must be greater than zero")

    @property
    def capacity(self) -> int:
        """The full bucket in units."""
        return self.burst * TOKEN_UNITS

    @property
    def refill_ms(self) -> int:
        """Milliseconds an empty bucket takes to become full (after that its state can be forgotten)."""
        return -(-self.capacity // self.requests_per_minute)


class BucketDecision(msgspec.Struct, frozen=True):
    """Whether one request may pass; when not, how many seconds until the client's next token."""

    allowed: bool
    retry_after_seconds: float = 0.0


class ThrottlePolicy(msgspec.Struct, frozen=True):
    """Failures past a key's free ones wait ``base_delay_ms * 2**(failures - free)``, at most ``max_delay_ms``;
    a key without a failure for ``window_ms`` is forgotten."""

    base_delay_ms: int = 2_000
    max_delay_ms: int = 300_000
    window_ms: int = 900_000


def refilled_units(units: int, last_ms: int, now_ms: int, limits: BucketLimits) -> int:
    """A bucket's units at ``now_ms`` after holding ``units`` at ``last_ms``."""
    return min(limits.capacity, units + max(0, now_ms - last_ms) * limits.requests_per_minute)


def attempt_wait_ms(count: int, last_ms: int, free: int, now_ms: int, policy: ThrottlePolicy) -> int:
    """Milliseconds before a key with ``count`` failures (the last at ``last_ms``) may try again."""
    if count < free or now_ms - last_ms > policy.window_ms:
        return 0
    delay = min(policy.base_delay_ms * (1 << min(count - free, MAX_DOUBLINGS)), policy.max_delay_ms)
    return max(0, last_ms + delay - now_ms)


class LimitCounters(Protocol):
    """Counters shared by every node of a deployment (or one process, for the in-memory adapter).

    Each call is atomic on the store; state expires on its own (a full bucket, a forgotten failure), so the
    store's memory stays bounded. Every method raises ``LimitCountersUnavailable`` when the store is down.
    """

    def take_token(self, key: str, limits: BucketLimits) -> BucketDecision:
        """Spend one token of ``key``'s bucket if it has one."""
        ...

    def give_back_token(self, key: str, limits: BucketLimits) -> None:
        """Return one token to ``key``'s bucket (never above its burst); a forgotten bucket is left alone."""
        ...

    def reserve_attempt(self, keys: Mapping[str, int], policy: ThrottlePolicy) -> int:
        """``keys`` maps each key to its free failures. Atomically: the wait in ms when any key is throttled
        (nothing recorded), else ``0`` with one failure recorded under every key."""
        ...

    def refund_attempt(self, keys: Mapping[str, int]) -> None:
        """Take back one failure recorded by :meth:`reserve_attempt` under these keys."""
        ...

    def clear(self, keys: Mapping[str, int]) -> None:
        """Forget the failures of these keys."""
        ...
