"""Cached reads on PostgreSQL against SQLite: wrk on the same corpus, both servers interleaved, one table.

One command: ``uv run python benchmarks/postgres_reads.py`` (``--help`` for sizes, durations, ``--baseline``).
The corpus (100 projects x 20 wheels by default) is loaded twice, once with SQLite and once into a throwaway
schema of the PostgreSQL server at ``PYREGISTRY_TEST_POSTGRES_URL`` (default ``127.0.0.1:5432``), which is
dropped at the end. Each repetition runs ``/healthz``, one cached project page, the cached root index and one
small wheel of that page against every server in turn; the table gives median requests per second with their
range, and each PostgreSQL row's ratio to the SQLite row of the same sources (the issue's target is 0.8 or more on
cached reads); a second table gives pyregistry's own CPU time per request (see ``cpu_per_request.py``;
PostgreSQL's is not counted).

A third table shows how soon a change made elsewhere is seen: ``--revocations`` times, another process (this
script, on its own connection) revokes every token of the database and at once asks each server for the cached
page; it counts the answers still ``200`` (the revocation not seen yet) and the time until the ``401``, then
restores the tokens and waits for the page again.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import psycopg
from compare_peers import HTML, RESULTS, _basic, _get, versions
from corpus import ROOT, build_corpus, bulk_load_pyregistry
from cpu_per_request import measure
from servers import BIN, Server, free_port, rotated, start_server
from wrk_compare import Row

sys.path.insert(0, str(ROOT))
from tests.support.postgres import ADMIN_URL, schema_url

PATHS = ("/healthz", "project page", "root index", "small file")


@contextmanager
def bench_schema() -> Iterator[str]:
    """A uniquely named PostgreSQL schema for this run, dropped afterwards; yields its connection URL."""
    schema = f"pyr_bench_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def load(home: Path, files: list[Path], postgres_url: str | None) -> str:
    """Load ``files`` into tenant ``bench`` of a fresh data directory; return a read token."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return bulk_load_pyregistry(home, {"bench": files}, postgres_url)["bench"]


def serve(home: Path, postgres_url: str | None, sources: Path | None) -> Server:
    """``pyregistry serve`` on ``home`` with one worker (``sources``: another checkout's packages, same venv)."""
    port = free_port()
    env = {
        "BIND_ADDRESS": f"127.0.0.1:{port}",
        "SUPERADMIN_PASSWORD": "bench-admin-password",
        "COOKIE_SECRET": "bench-cookie-secret-bench-cookie-secret",
        "RATE_LIMIT_ENABLED": "false",
        "PYPI_MIRROR_UPDATE_ENABLED": "false",
        "PYREGISTRY_WORKERS": "1",
    }
    if postgres_url is not None:
        env.update({"DATABASE_STORE": "postgres", "POSTGRES_URL": postgres_url})
    if sources is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(path) for path in sorted(sources.glob("packages/*/src")))
    label = "pyregistry-" + ("postgres" if postgres_url else "sqlite") + ("-baseline" if sources else "")
    return start_server(label, [str(BIN / "pyregistry"), "serve"], port, "/healthz", cwd=home, env=env)


def row(name: str, server: Server, token: str) -> Row:
    """The measured paths of one server; each is read once so the pages are cached before timing."""
    headers = {**_basic("__token__", token), "Accept": HTML}
    page = "/t/bench/simple/proj0000/"
    status, body = _get(server.port, page, headers)
    link = re.search(rb'href="([^"#]+)', body)
    if status != 200 or link is None:
        raise RuntimeError(f"{name} answered {status} for {page}: {body[:200]!r}")
    paths = {
        "/healthz": "/healthz",
        "project page": page,
        "root index": "/t/bench/simple/",
        "small file": urlsplit(urljoin(f"http://x{page}", link.group(1).decode())).path,
    }
    for path in paths.values():
        status, _body = _get(server.port, path, headers)
        if status != 200:
            raise RuntimeError(f"{name} answered {status} for {path}: {_body!r}")
    return Row(name=name, port=server.port, paths=paths, headers=headers)


REVOKED_AT = "2026-01-01T00:00:00+00:00"


def revoker(home: Path, postgres_url: str | None) -> Callable[[str | None], None]:
    """Sets ``revoked_at`` of every token in the database of ``home`` (or on ``postgres_url``) from this process."""
    if postgres_url is not None:
        conn = psycopg.connect(postgres_url, autocommit=True)

        def on_postgres(when: str | None) -> None:
            conn.execute("UPDATE api_tokens SET revoked_at = %s", (when,))

        return on_postgres
    db = sqlite3.connect(home / ".pyregistry" / "pyregistry.sqlite3", isolation_level=None)

    def on_sqlite(when: str | None) -> None:
        db.execute("UPDATE api_tokens SET revoked_at = ?", (when,))

    return on_sqlite


def revocation_window(r: Row, revoke: Callable[[str | None], None], rounds: int) -> tuple[int, list[float]]:
    """How many first reads after a revocation by another process still got the page, and the milliseconds from
    the revocation's commit to the first ``401``."""
    path = r.paths["project page"]
    stale, waits = 0, []
    for _ in range(rounds):
        revoke(REVOKED_AT)
        started = time.perf_counter()
        status, _body = _get(r.port, path, r.headers)
        if status == 200:
            stale += 1
            while status == 200:
                status, _body = _get(r.port, path, r.headers)
        if status != 401:
            raise RuntimeError(f"{r.name} answered {status} to a revoked token")
        waits.append((time.perf_counter() - started) * 1000)
        revoke(None)
        while _get(r.port, path, r.headers)[0] != 200:
            time.sleep(0.001)
    return stale, waits


def window_table(windows: dict[str, tuple[int, list[float]]], rounds: int) -> str:
    """Markdown: per server, the stale first reads and the time until the revocation was refused."""
    lines = [
        f"| revoked by another process ({rounds} times) | " + " | ".join(windows) + " |",
        "|---" * (len(windows) + 1) + "|",
        "| first read still 200 | " + " | ".join(str(stale) for stale, _ in windows.values()) + " |",
        "| ms until 401, median [max] | "
        + " | ".join(f"{statistics.median(w):.2f} [{max(w):.2f}]" for _, w in windows.values())
        + " |",
    ]
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    """Markdown: median rps [min-max] per path and server, then each PostgreSQL row over its SQLite row."""
    lines = ["| path | " + " | ".join(r.name for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for label in PATHS:
        cells = []
        for r in rows:
            runs = r.results[label]
            cells.append(f"{statistics.median(runs):,.0f} [{min(runs):,.0f}-{max(runs):,.0f}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    by_name = {r.name: r for r in rows}
    for r in rows:
        if "postgres" not in r.name:
            continue
        sqlite = by_name[r.name.replace("postgres", "sqlite")]
        ratios = [
            f"{label} {statistics.median(r.results[label]) / statistics.median(sqlite.results[label]):.2f}x"
            for label in PATHS
        ]
        lines.append(f"- {r.name} / {sqlite.name}: " + ", ".join(ratios))
    return "\n".join(lines)


def cpu_table(rows: list[Row], cpu: dict[str, dict[str, list[float]]]) -> str:
    """Median microseconds of pyregistry's own CPU per request (the database server's CPU is not included)."""
    lines = ["| server CPU per request | " + " | ".join(r.name for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for label in PATHS:
        cells = [f"{statistics.median(cpu[r.name][label]):,.0f} µs" for r in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--revocations", type=int, default=200, help="revocations by another process per server")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of another commit: also run its sources (same venv, same data)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    work = RESULTS / f"postgres-{args.projects}x{args.versions}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(work / "corpus", args.projects, args.versions, 0, 1)
    files = corpus.small_files()
    with ExitStack() as stack:
        url = stack.enter_context(bench_schema())
        print("loading SQLite and PostgreSQL copies ...", file=sys.stderr)
        tokens = {"sqlite": load(work / "sqlite", files, None), "postgres": load(work / "postgres", files, url)}
        rows: list[Row] = []
        pids: dict[str, int] = {}
        cpu: dict[str, dict[str, list[float]]] = {}
        for sources in (None, args.baseline) if args.baseline else (None,):
            for store, database in (("sqlite", None), ("postgres", url)):
                server = serve(work / store, database, sources)
                stack.callback(server.stop)
                rows.append(row(f"{store}{'@baseline' if sources else ''}", server, tokens[store]))
                pids[rows[-1].name] = server.process.pid
        loads = []
        for repeat in range(args.repeats):
            for label in PATHS:
                for r in rotated(rows, repeat):
                    rate, micros = measure(r, pids[r.name], label, args.connections, args.seconds)
                    r.results.setdefault(label, []).append(rate)
                    cpu.setdefault(r.name, {}).setdefault(label, []).append(micros)
            loads.append(os.getloadavg()[0])
            print(f"repetition {repeat + 1}/{args.repeats} done", file=sys.stderr)
        revokers = {"sqlite": revoker(work / "sqlite", None), "postgres": revoker(work / "postgres", url)}
        windows = {r.name: revocation_window(r, revokers[r.name.split("@")[0]], args.revocations) for r in rows}
        text = table(rows) + "\n\n" + cpu_table(rows, cpu) + "\n\n" + window_table(windows, args.revocations)
        machine = f"Machine: {versions()}; load average {min(loads):.1f} to {max(loads):.1f} (shared machine)"
        header = f"{machine}\nwrk -t2 -c{args.connections} -d{args.seconds}s, {args.repeats} repetitions, interleaved"
        print(f"\n{header}\n\n{text}")
        (RESULTS / "last-postgres-run.md").write_text(f"{header}\n\n{text}\n")


if __name__ == "__main__":
    main()
