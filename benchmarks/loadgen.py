"""A small closed-loop HTTP load generator: N keep-alive connections, each sending its next request as soon as
the previous answer is read. Used identically against every server.

Run alone: ``uv run python benchmarks/loadgen.py PORT PATH [--concurrency 8] [--duration 3] [--accept TYPE]``
(``{n}`` in PATH is replaced by a random project number).
"""

from __future__ import annotations

import argparse
import http.client
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["LoadResult", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    """Requests per second and latency percentiles of one run."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_read: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def run_load(
    port: int,
    next_path: Callable[[], str],
    *,
    concurrency: int,
    duration: float,
    headers: Mapping[str, str] | None = None,
    expect: int = 200,
) -> LoadResult:
    """Drive 127.0.0.1:``port`` for ``duration`` seconds with ``concurrency`` connections."""
    latencies: list[float] = []
    counters = {"errors": 0, "bytes": 0}
    lock = threading.Lock()
    sent_headers = dict(headers or {})
    deadline = time.perf_counter() + duration

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        errors = 0
        received = 0
        while time.perf_counter() < deadline:
            path = next_path()
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=sent_headers)
                response = connection.getresponse()
                while chunk := response.read(1024 * 1024):
                    received += len(chunk)
                if response.status != expect:
                    errors += 1
                if response.will_close:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)
            counters["errors"] += errors
            counters["bytes"] += received

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        errors=counters["errors"],
        bytes_read=counters["bytes"],
    )


def random_project_path(template: str, projects: int) -> Callable[[], str]:
    """A path factory replacing ``{n}`` by a random zero-padded project number below ``projects``."""
    return lambda: template.replace("{n}", f"{random.randrange(projects):04d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--accept", default=None)
    parser.add_argument("--authorization", default=None)
    args = parser.parse_args()
    headers = {key: value for key, value in (("Accept", args.accept), ("Authorization", args.authorization)) if value}
    result = run_load(
        args.port,
        random_project_path(args.path, args.projects),
        concurrency=args.concurrency,
        duration=args.duration,
        headers=headers,
    )
    print(
        f"{args.path} c={args.concurrency} n={result.requests} rps={result.rps:.0f} "
        f"p50={result.p50_ms:.1f}ms p99={result.p99_ms:.1f}ms errors={result.errors}"
    )


if __name__ == "__main__":
    main()
