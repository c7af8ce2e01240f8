"""How late PostgreSQL's change notifications can be: the window in which another node may still use a kept answer.

One command: ``uv run python benchmarks/notify_delivery.py`` (``--rounds``, ``--repeats``). Against the server at
``PYREGISTRY_TEST_POSTGRES_URL`` (default ``127.0.0.1:5432``), one connection listens and another commits a
notification, ``--rounds`` times per repetition, in one thread with nothing in between: right after each commit
returns, the listener's socket is read once without waiting (what a pyregistry worker does before it uses a kept
answer). It prints, per repetition, how many notifications had not arrived at that read, and for those the time
until they did (median and longest), then the median and range over the repetitions. No HTTP, no pyregistry: the
smallest gap a request could ever fall into, not what clients see (``postgres_reads.py`` measures that).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.postgres import ADMIN_URL

CHANNEL = "pyregistry_bench_delivery"


def one_repetition(rounds: int) -> tuple[int, list[float]]:
    """Late notifications out of ``rounds``, and each late one's milliseconds until it arrived."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as listener, psycopg.connect(ADMIN_URL, autocommit=True) as writer:
        listener.execute(f"LISTEN {CHANNEL}")
        late: list[float] = []
        for _ in range(rounds):
            writer.execute(f"NOTIFY {CHANNEL}")
            listener.pgconn.consume_input()
            if listener.pgconn.notifies() is None:
                started = time.perf_counter()
                while listener.pgconn.notifies() is None:
                    listener.pgconn.consume_input()
                late.append((time.perf_counter() - started) * 1000)
            while listener.pgconn.notifies() is not None:
                pass
    return len(late), late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    counts: list[int] = []
    longest: list[float] = []
    for repeat in range(args.repeats):
        count, late = one_repetition(args.rounds)
        counts.append(count)
        longest.append(max(late, default=0.0))
        median = f"{statistics.median(late):.2f}" if late else "-"
        wait = f"median {median} ms, longest {longest[-1]:.2f} ms"
        print(f"repetition {repeat + 1}: {count} of {args.rounds} late, {wait}")
    print(
        f"\nlate notifications per {args.rounds}: median {statistics.median(counts):g} [{min(counts)}-{max(counts)}]; "
        f"longest wait per repetition: median {statistics.median(longest):.2f} ms "
        f"[{min(longest):.2f}-{max(longest):.2f}]; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
