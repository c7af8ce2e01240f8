"""Cost of the shared limit counters: what one API request adds (a take and a give-back) per backend.

Run from the repository root with Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (database ``test``):

    uv run python benchmarks/limit_counters.py [--operations 2000] [--threads 1 4]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import threading
import time
from collections.abc import Callable

import psycopg
import redis

from pyregistry_application.limit_counters import BucketLimits, LimitCounters
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.shared_state.postgres_counters import PostgresLimitCounters
from pyregistry_infrastructure.shared_state.redis_counters import RedisLimitCounters

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
LIMITS = BucketLimits(requests_per_minute=120, burst=60)


def _run(counters: LimitCounters, operations: int, threads: int) -> tuple[float, float]:
    """Requests per second over all threads, and the median microseconds per request."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        mine = []
        for index in range(operations // threads):
            key = f"10.0.{number}.{index % 200}"
            start = time.perf_counter()
            counters.take_token(key, LIMITS)
            counters.give_back_token(key, LIMITS)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(number,)) for number in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, statistics.median(latencies) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    arguments = parser.parse_args()
    prefix = f"pyr-bench-{secrets.token_hex(4)}:"
    schema = f"pyr_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    backends: dict[str, Callable[[], LimitCounters]] = {
        "memory": MemoryLimitCounters,
        "redis": lambda: RedisLimitCounters(REDIS_URL, prefix=prefix),
        "postgres": lambda: PostgresLimitCounters(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"),
    }
    try:
        print(f"{'backend':<10} {'threads':>7} {'requests/s':>11} {'median µs':>10}")
        for name, build in backends.items():
            counters = build()
            _run(counters, 100, 1)  # connect, create the table
            for threads in arguments.threads:
                rate, median = _run(counters, arguments.operations, threads)
                print(f"{name:<10} {threads:>7} {rate:>11.0f} {median:>10.0f}")
            close = getattr(counters, "close", None)
            if close is not None:
                close()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
