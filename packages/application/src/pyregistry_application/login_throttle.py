"""Slowing down repeated failed admin logins."""

from __future__ import annotations

from collections.abc import Mapping

from pyregistry_application.limit_counters import LimitCounters, ThrottlePolicy

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """Counts failed logins per key; past a key's free failures each new failure doubles the wait before the next try.

    Keys are opaque strings (for example ``"account:<email>"`` and ``"ip:<ip>"``) mapped to their free failures;
    counts are forgotten after the policy's window without failures, or when :meth:`succeeded` clears a key.
    :meth:`reserve` checks and records in one atomic step on the counters' store, so parallel attempts (on any
    node sharing that store) cannot all pass the check before any failure is counted.
    """

    def __init__(self, counters: LimitCounters, policy: ThrottlePolicy | None = None) -> None:
        self._counters = counters
        self._policy = policy or ThrottlePolicy()

    def reserve(self, keys: Mapping[str, int]) -> int:
        """The wait in whole seconds when throttled (nothing recorded), else ``0`` with a failure recorded under
        every key. The caller checks the password only after a ``0``; :meth:`refund` takes the failure back when
        it was right. Raises ``LimitCountersUnavailable`` when the counters' store is down."""
        wait_ms = self._counters.reserve_attempt(keys, self._policy)
        return -(-wait_ms // 1000)

    def refund(self, keys: Mapping[str, int]) -> None:
        """Take back one failure recorded by :meth:`reserve` under these keys (the attempt succeeded)."""
        self._counters.refund_attempt(keys)

    def succeeded(self, keys: Mapping[str, int]) -> None:
        """Forget the failures of these keys."""
        self._counters.clear(keys)
