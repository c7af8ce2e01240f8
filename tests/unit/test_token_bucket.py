"""The per-client token bucket: burst, refill, Retry-After and least-recently-used eviction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyregistry_web.token_bucket import TokenBucketLimiter

SECOND_NS = 1_000_000_000
FUZZ_EXAMPLES = 300


class FakeClock:
    """A monotonic nanosecond clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * SECOND_NS)


def test_burst_then_refusal_with_retry_after() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=3, max_tracked_clients=10, clock=clock)
    assert [limiter.take("a").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.take("a")
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx(1.0)
    clock.advance(0.5)
    assert limiter.take("a").retry_after_seconds == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute=600, burst=2, max_tracked_clients=10, clock=clock)
    limiter.take("a")
    clock.advance(3600)
    assert [limiter.take("a").allowed for _ in range(3)] == [True, True, False]


def test_clients_have_separate_buckets() -> None:
    limiter = TokenBucketLimiter(requests_per_minute=1, burst=1, max_tracked_clients=10, clock=FakeClock())
    assert limiter.take("10.0.0.1").allowed
    assert not limiter.take("10.0.0.1").allowed
    assert limiter.take("10.0.0.2").allowed


def test_least_recently_used_client_is_evicted_first() -> None:
    limiter = TokenBucketLimiter(requests_per_minute=1, burst=1, max_tracked_clients=2, clock=FakeClock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("a")  # a is now the most recently seen
    limiter.take("c")  # evicts b, not a
    assert len(limiter) == 2
    assert "a" in limiter and "c" in limiter and "b" not in limiter
    assert not limiter.take("a").allowed  # a kept its empty bucket
    assert limiter.take("b").allowed  # b starts again with a full bucket


def test_table_never_grows_past_its_bound() -> None:
    limiter = TokenBucketLimiter(requests_per_minute=60, burst=5, max_tracked_clients=100, clock=FakeClock())
    for number in range(5000):
        limiter.take(f"client-{number}")
    assert len(limiter) == 100


@pytest.mark.parametrize("arguments", [(0, 1, 1), (1, 0, 1), (1, 1, 0), (-5, 1, 1)])
def test_rejects_non_positive_limits(arguments: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        TokenBucketLimiter(*arguments)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    requests_per_minute=st.integers(min_value=1, max_value=100_000),
    burst=st.integers(min_value=1, max_value=50),
    gaps_ns=st.lists(st.integers(min_value=0, max_value=5 * SECOND_NS), min_size=1, max_size=120),
)
def test_never_allows_more_than_burst_plus_refill(requests_per_minute: int, burst: int, gaps_ns: list[int]) -> None:
    """In every window [t_i, t_j], allowed requests <= burst + rate * (t_j - t_i), exactly (no float slack)."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute, burst, max_tracked_clients=4, clock=clock)
    allowed_at: list[int] = []
    for gap in gaps_ns:
        clock.now += gap
        if limiter.take("client").allowed:
            allowed_at.append(clock.now)
    for first, start in enumerate(allowed_at):
        for last in range(first, len(allowed_at)):
            count = last - first + 1
            # count <= burst + rpm * elapsed_ns / 60e9, kept in integers
            assert count * 60 * SECOND_NS <= burst * 60 * SECOND_NS + requests_per_minute * (allowed_at[last] - start)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    requests_per_minute=st.integers(min_value=1, max_value=100_000),
    burst=st.integers(min_value=1, max_value=20),
    extra=st.integers(min_value=1, max_value=20),
)
def test_waiting_retry_after_is_enough(requests_per_minute: int, burst: int, extra: int) -> None:
    """A refused client that waits the advertised time (rounded up as in the header) gets through."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(requests_per_minute, burst, max_tracked_clients=4, clock=clock)
    for _ in range(burst):
        assert limiter.take("client").allowed
    for _ in range(extra):
        decision = limiter.take("client")
        if decision.allowed:
            continue
        assert decision.retry_after_seconds > 0
        clock.now += round(decision.retry_after_seconds * SECOND_NS) + 1
        assert limiter.take("client").allowed
