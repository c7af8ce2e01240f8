"""Slowing down repeated failed admin logins."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyregistry_application.ports import Clock

__all__ = ["LoginThrottle"]

_MAX_DOUBLINGS = 30


@dataclass(slots=True)
class _Failures:
    count: int
    last: datetime


class LoginThrottle:
    """Counts failed logins per key; past ``free_failures`` each new failure doubles the wait before the next try.

    Keys are opaque strings (for example ``"account:<email>"`` and ``"ip:<ip>"``); counts are forgotten after
    ``window`` without failures, or when :meth:`succeeded` clears a key. :meth:`reserve` checks and records in one
    step under a lock, so parallel attempts cannot all pass the check before any failure is counted.
    State lives in this process.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        free_failures: int = 3,
        base_delay: timedelta = timedelta(seconds=2),
        max_delay: timedelta = timedelta(minutes=5),
        window: timedelta = timedelta(minutes=15),
        max_tracked: int = 10_000,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._base = base_delay
        self._max = max_delay
        self._window = window
        self._max_tracked = max_tracked
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _delay(self, count: int, free: int) -> timedelta:
        if count < free:
            return timedelta(0)
        doublings = min(count - free, _MAX_DOUBLINGS)  # bounded: timedelta overflows long before an int does
        return min(self._base * (1 << doublings), self._max)

    def _wait(self, keys: dict[str, int], now: datetime) -> int:
        wait = timedelta(0)
        for key, free in keys.items():
            entry = self._failures.get(key)
            if entry is None:
                continue
            if now - entry.last > self._window:
                del self._failures[key]
                continue
            wait = max(wait, entry.last + self._delay(entry.count, free) - now)
        return int(-(-wait.total_seconds() // 1))

    def retry_after(self, keys: dict[str, int]) -> int:
        """Seconds to wait before another attempt is allowed; ``keys`` maps each key to its free failures."""
        with self._lock:
            return self._wait(keys, self._clock.now())

    def reserve(self, keys: dict[str, int]) -> int:
        """Atomically: the wait when throttled (nothing recorded), else ``0`` with a failure recorded under every key.

        The caller checks the password only after a ``0``; :meth:`refund` takes the failure back when it was right.
        """
        now = self._clock.now()
        with self._lock:
            wait = self._wait(keys, now)
            if wait == 0:
                self._record(keys, now)
            return wait

    def failed(self, keys: dict[str, int]) -> None:
        """Record one failed attempt under every key."""
        with self._lock:
            self._record(keys, self._clock.now())

    def refund(self, keys: dict[str, int]) -> None:
        """Take back one failure recorded by :meth:`reserve` under these keys (the attempt succeeded)."""
        with self._lock:
            for key in keys:
                entry = self._failures.get(key)
                if entry is not None:
                    entry.count = max(entry.count - 1, 0)

    def succeeded(self, keys: dict[str, int]) -> None:
        """Forget the failures of these keys."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _record(self, keys: dict[str, int], now: datetime) -> None:
        if len(self._failures) >= self._max_tracked:
            self._forget_oldest()
        for key in keys:
            entry = self._failures.get(key)
            if entry is None or now - entry.last > self._window:
                self._failures[key] = _Failures(count=1, last=now)
            else:
                entry.count += 1
                entry.last = now

    def _forget_oldest(self) -> None:
        oldest = sorted(self._failures.items(), key=lambda item: item[1].last)[: max(1, self._max_tracked // 10)]
        for key, _ in oldest:
            del self._failures[key]
