"""The in-process limit counters' token buckets: burst, refill, Retry-After and least-recently-used eviction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyregistry_application.limit_counters import BucketLimits
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters

SECOND_MS = 1_000
FUZZ_EXAMPLES = 300


class FakeClock:
    """A monotonic millisecond clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * SECOND_MS)


def test_burst_then_refusal_with_retry_after() -> None:
    clock = FakeClock()
    counters, limits = MemoryLimitCounters(clock_ms=clock), BucketLimits(requests_per_minute=60, burst=3)
    assert [counters.take_token("a", limits).allowed for _ in range(3)] == [True, True, True]
    refused = counters.take_token("a", limits)
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx(1.0)
    clock.advance(0.5)
    assert counters.take_token("a", limits).retry_after_seconds == pytest.approx(0.5)
    clock.advance(0.5)
    assert counters.take_token("a", limits).allowed
    assert not counters.take_token("a", limits).allowed


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    counters, limits = MemoryLimitCounters(clock_ms=clock), BucketLimits(requests_per_minute=600, burst=2)
    counters.take_token("a", limits)
    clock.advance(3600)
    assert [counters.take_token("a", limits).allowed for _ in range(3)] == [True, True, False]


def test_least_recently_used_client_is_evicted_first() -> None:
    counters, limits = MemoryLimitCounters(max_buckets=2, clock_ms=FakeClock()), BucketLimits(1, 1)
    counters.take_token("a", limits)
    counters.take_token("b", limits)
    counters.take_token("a", limits)  # a is now the most recently seen
    counters.take_token("c", limits)  # evicts b, not a
    assert counters.tracked_buckets == 2
    assert not counters.take_token("a", limits).allowed  # a kept its empty bucket
    assert counters.take_token("b", limits).allowed  # b starts again with a full bucket


@pytest.mark.parametrize("arguments", [(0, 1), (1, 0), (-5, 1)])
def test_rejects_non_positive_limits(arguments: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        BucketLimits(*arguments)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    requests_per_minute=st.integers(min_value=1, max_value=100_000),
    burst=st.integers(min_value=1, max_value=50),
    gaps_ms=st.lists(st.integers(min_value=0, max_value=5 * SECOND_MS), min_size=1, max_size=120),
)
def test_never_allows_more_than_burst_plus_refill(requests_per_minute: int, burst: int, gaps_ms: list[int]) -> None:
    """In every window [t_i, t_j], allowed requests <= burst + rate * (t_j - t_i), exactly (no float slack)."""
    clock = FakeClock()
    counters, limits = MemoryLimitCounters(clock_ms=clock), BucketLimits(requests_per_minute, burst)
    allowed_at: list[int] = []
    for gap in gaps_ms:
        clock.now += gap
        if counters.take_token("client", limits).allowed:
            allowed_at.append(clock.now)
    for first, start in enumerate(allowed_at):
        for last in range(first, len(allowed_at)):
            count = last - first + 1
            # count <= burst + rpm * elapsed_ms / 60e3, kept in integers
            assert count * 60 * SECOND_MS <= burst * 60 * SECOND_MS + requests_per_minute * (allowed_at[last] - start)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    requests_per_minute=st.integers(min_value=1, max_value=100_000),
    burst=st.integers(min_value=1, max_value=20),
    extra=st.integers(min_value=1, max_value=20),
)
def test_waiting_retry_after_is_enough(requests_per_minute: int, burst: int, extra: int) -> None:
    """A refused client that waits the advertised time gets through."""
    clock = FakeClock()
    counters, limits = MemoryLimitCounters(clock_ms=clock), BucketLimits(requests_per_minute, burst)
    for _ in range(burst):
        assert counters.take_token("client", limits).allowed
    for _ in range(extra):
        decision = counters.take_token("client", limits)
        if decision.allowed:
            continue
        assert decision.retry_after_seconds > 0
        clock.now += round(decision.retry_after_seconds * SECOND_MS)
        assert counters.take_token("client", limits).allowed
