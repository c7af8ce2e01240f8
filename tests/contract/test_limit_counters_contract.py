"""One contract for every LimitCounters adapter: in-process, Redis and PostgreSQL (real servers, real time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis

from pyregistry_application.limit_counters import (
    BucketLimits,
    LimitCounters,
    LimitCountersUnavailable,
    ThrottlePolicy,
)
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.shared_state.postgres_counters import TABLE, PostgresLimitCounters
from pyregistry_infrastructure.shared_state.redis_counters import RedisLimitCounters
from tests.support.postgres import postgres_schema
from tests.support.redis_server import REDIS_URL, redis_prefix
from tests.support.server import free_port

KINDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", marks=[pytest.mark.redis], id="redis"),
    pytest.param("postgres", marks=[pytest.mark.postgres], id="postgres"),
]
SLOW_POLICY = ThrottlePolicy(base_delay_ms=60_000, max_delay_ms=600_000, window_ms=900_000)


@pytest.fixture(params=KINDS)
def counters(request: pytest.FixtureRequest) -> Iterator[LimitCounters]:
    kind: str = request.param
    if kind == "memory":
        yield MemoryLimitCounters()
    elif kind == "redis":
        with redis_prefix() as prefix:
            adapter = RedisLimitCounters(REDIS_URL, prefix=prefix)
            yield adapter
            adapter.close()
    else:
        with postgres_schema() as url:
            pg = PostgresLimitCounters(url)
            yield pg
            pg.close()


def test_burst_then_refusal_with_retry_after(counters: LimitCounters) -> None:
    limits = BucketLimits(requests_per_minute=60, burst=3)
    assert [counters.take_token("a", limits).allowed for _ in range(3)] == [True, True, True]
    refused = counters.take_token("a", limits)
    assert not refused.allowed
    assert 0.5 < refused.retry_after_seconds <= 1.0


def test_bucket_refills_at_the_rate(counters: LimitCounters) -> None:
    limits = BucketLimits(requests_per_minute=600, burst=1)  # one token per 100 ms
    assert counters.take_token("a", limits).allowed
    refused = counters.take_token("a", limits)
    assert not refused.allowed and 0 < refused.retry_after_seconds <= 0.1
    time.sleep(0.15)
    assert counters.take_token("a", limits).allowed


def test_keys_have_separate_buckets(counters: LimitCounters) -> None:
    limits = BucketLimits(requests_per_minute=1, burst=1)
    assert counters.take_token("10.0.0.1", limits).allowed
    assert not counters.take_token("10.0.0.1", limits).allowed
    assert counters.take_token("10.0.0.2", limits).allowed


def test_given_back_tokens_never_exceed_the_burst(counters: LimitCounters) -> None:
    limits = BucketLimits(requests_per_minute=1, burst=2)
    assert counters.take_token("a", limits).allowed
    for _ in range(5):
        counters.give_back_token("a", limits)
    assert [counters.take_token("a", limits).allowed for _ in range(3)] == [True, True, False]
    counters.give_back_token("a", limits)
    assert [counters.take_token("a", limits).allowed for _ in range(2)] == [True, False]


def test_reservations_pass_the_free_failures_then_wait(counters: LimitCounters) -> None:
    policy = ThrottlePolicy(base_delay_ms=2_000, max_delay_ms=10_000, window_ms=60_000)
    keys = {"account:a": 2}
    assert [counters.reserve_attempt(keys, policy) for _ in range(2)] == [0, 0]
    wait = counters.reserve_attempt(keys, policy)
    assert 1_000 < wait <= 2_000


def test_a_throttled_reservation_records_nothing(counters: LimitCounters) -> None:
    assert counters.reserve_attempt({"account:a": 1, "ip:x": 5}, SLOW_POLICY) == 0
    assert counters.reserve_attempt({"account:a": 1, "ip:x": 5}, SLOW_POLICY) > 0
    assert [counters.reserve_attempt({"ip:x": 5}, SLOW_POLICY) for _ in range(4)] == [0, 0, 0, 0]
    assert counters.reserve_attempt({"ip:x": 5}, SLOW_POLICY) > 0


def test_refund_and_clear(counters: LimitCounters) -> None:
    keys = {"account:a": 1}
    assert counters.reserve_attempt(keys, SLOW_POLICY) == 0
    counters.refund_attempt(keys)
    assert counters.reserve_attempt(keys, SLOW_POLICY) == 0
    assert counters.reserve_attempt(keys, SLOW_POLICY) > 0
    counters.clear(keys)
    assert counters.reserve_attempt(keys, SLOW_POLICY) == 0


def test_failures_are_forgotten_after_the_window(counters: LimitCounters) -> None:
    policy = ThrottlePolicy(base_delay_ms=60_000, max_delay_ms=60_000, window_ms=200)
    keys = {"account:a": 1}
    assert counters.reserve_attempt(keys, policy) == 0
    assert counters.reserve_attempt(keys, policy) > 0
    time.sleep(0.3)
    assert counters.reserve_attempt(keys, policy) == 0


def _hammer(threads: int, per_thread: int, attempt: Callable[[], bool]) -> int:
    allowed = 0
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        nonlocal allowed
        start.wait()
        for _ in range(per_thread):
            if attempt():
                with lock:
                    allowed += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return allowed


def test_threads_hammering_one_bucket_get_exactly_the_burst(counters: LimitCounters) -> None:
    limits = BucketLimits(requests_per_minute=1, burst=25)
    assert _hammer(8, 20, lambda: counters.take_token("shared", limits).allowed) == 25


def test_threads_hammering_one_login_get_exactly_the_free_failures(counters: LimitCounters) -> None:
    keys = {"account:a|1.2.3.4": 5, "account:a": 10, "ip:1.2.3.4": 20}
    assert _hammer(8, 10, lambda: counters.reserve_attempt(keys, SLOW_POLICY) == 0) == 5


def test_redis_keys_expire_so_memory_stays_bounded() -> None:
    with redis_prefix() as prefix:
        adapter = RedisLimitCounters(REDIS_URL, prefix=prefix)
        adapter.take_token("a", BucketLimits(requests_per_minute=60, burst=2))
        adapter.reserve_attempt({"ip:x": 3}, ThrottlePolicy(window_ms=5_000))
        client = redis.Redis.from_url(REDIS_URL)
        try:
            assert 0 < client.pttl(f"{prefix}bucket:a") <= 2_001  # full again 2 s after the take
            assert 4_000 < client.pttl(f"{prefix}attempts:ip:x") <= 5_001
        finally:
            client.close()
            adapter.close()


def test_postgres_expired_rows_are_swept() -> None:
    with postgres_schema() as url:
        adapter = PostgresLimitCounters(url)
        limits = BucketLimits(requests_per_minute=60_000, burst=1)  # full again after 1 ms
        for number in range(20):
            adapter.take_token(f"client-{number}", limits)
        time.sleep(0.05)
        adapter._next_sweep = 0.0  # the next call sweeps, as it would a minute later
        adapter.take_token("last", BucketLimits(requests_per_minute=60, burst=1))
        with psycopg.connect(url) as conn:
            rows = conn.execute(f"SELECT key FROM {TABLE}").fetchall()
        adapter.close()
    assert rows == [("bucket:last",)]


def test_memory_tables_are_bounded() -> None:
    adapter = MemoryLimitCounters(max_buckets=100, max_attempt_keys=50)
    for number in range(5000):
        adapter.take_token(f"client-{number}", BucketLimits(requests_per_minute=60, burst=5))
        adapter.reserve_attempt({f"ip:{number}": 3}, SLOW_POLICY)
    assert (adapter.tracked_buckets, adapter.tracked_attempt_keys) == (100, 50)


def test_redis_down_raises_unavailable() -> None:
    adapter = RedisLimitCounters(f"redis://:secret@127.0.0.1:{free_port()}/0", timeout_seconds=0.5)
    with pytest.raises(
        LimitCountersUnavailable,
        match=r"^Redis at redis://:\*+@127\.0\.0\.1:\d+/0 is unavailable: Error 111 connecting",
    ):
        adapter.take_token("a", BucketLimits(requests_per_minute=1, burst=1))
    with pytest.raises(LimitCountersUnavailable, match="is unavailable: Error 111 connecting"):
        adapter.reserve_attempt({"ip:x": 3}, SLOW_POLICY)
    adapter.close()


@pytest.mark.slow
def test_postgres_down_raises_unavailable() -> None:
    adapter = PostgresLimitCounters(f"postgresql://postgres@127.0.0.1:{free_port()}/test", timeout_seconds=1)
    with pytest.raises(LimitCountersUnavailable, match=r"^PostgreSQL at postgresql://postgres@127\.0\.0\.1:\d+/test"):
        adapter.take_token("a", BucketLimits(requests_per_minute=1, burst=1))
    with pytest.raises(LimitCountersUnavailable, match=r"is unavailable: couldn't get a connection after 1\.00 sec$"):
        adapter.reserve_attempt({"ip:x": 3}, SLOW_POLICY)
    adapter.close()
