"""CPU time of one access log line in process: what ``RequestContextMiddleware`` does after each request.

One command: ``uv run python benchmarks/access_line.py`` (``--help`` for the format and counts). Logging is configured
as the server configures it, into a throwaway file (a real write per line, as a server writing to a redirected
stderr does), and each iteration binds a request id, logs the ``request finished`` line with the middleware's fields
and resets the binding. Prints the minimum and median of the batches in microseconds of process CPU per line. Run it
against another checkout's sources with ``--baseline DIR`` (a directory holding that checkout's ``packages/``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_PACKAGES = ("domain", "application", "web", "infrastructure", "bootstrap")


def _access_line_writer() -> Callable[[str, str, int, float], None]:
    """What the server's middleware calls per request: the direct ``AccessLine`` where the checkout has one,
    else structlog's logger (checkouts from before it)."""
    try:
        from pyregistry_infrastructure.access_line import AccessLine
    except ImportError:
        import structlog

        log = structlog.get_logger("pyregistry_web.requests")

        def through_structlog(method: str, path: str, status: int, duration_ms: float) -> None:
            log.info("request finished", method=method, path=path, status=status, duration_ms=duration_ms)

        return through_structlog
    return AccessLine("pyregistry_web.requests", "request_context")


def measure(log_format: str, lines: int, batches: int) -> list[float]:
    """Microseconds of process CPU per line, one figure per batch of ``lines`` lines."""
    import structlog

    from pyregistry_infrastructure.logging_setup import configure_logging
    from pyregistry_infrastructure.settings import LoggingSettings

    with tempfile.TemporaryDirectory() as directory, open(Path(directory) / "server.log", "a") as stream:
        saved, sys.stderr = sys.stderr, stream
        try:
            configure_logging(LoggingSettings(format=log_format))
            write = _access_line_writer()

            def one() -> None:
                bound = structlog.contextvars.bind_contextvars(request_id="0123456789abcdef0123456789abcdef")
                write("GET", "/healthz", 200, 0.3)
                structlog.contextvars.reset_contextvars(**bound)

            for _ in range(lines // 5):
                one()
            results = []
            for _ in range(batches):
                started = time.process_time()
                for _ in range(lines):
                    one()
                results.append((time.process_time() - started) / lines * 1e6)
            return results
        finally:
            sys.stderr = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=["console", "json"], action="append", help="default: both")
    parser.add_argument("--lines", type=int, default=10_000, help="lines per batch")
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout: its sources as a second row")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    formats = arguments.format or ["console", "json"]
    if arguments.json:
        print(json.dumps({name: measure(name, arguments.lines, arguments.batches) for name in formats}))
        return
    rows = {"this checkout": os.environ.get("PYTHONPATH", "")}
    if arguments.baseline:
        sources = [str(arguments.baseline.resolve() / "packages" / name / "src") for name in _PACKAGES]
        rows[f"baseline {arguments.baseline}"] = os.pathsep.join(sources)
    command = [sys.executable, __file__, "--json", "--lines", str(arguments.lines), "--batches", str(arguments.batches)]
    command += [part for name in formats for part in ("--format", name)]
    print(f"load average {os.getloadavg()[0]:.1f}; µs of process CPU per line, min / median of {arguments.batches}")
    for label, path in rows.items():
        result = subprocess.run(
            command, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, check=True
        )
        figures = json.loads(result.stdout)
        cells = [f"{name} {min(values):.1f} / {statistics.median(values):.1f}" for name, values in figures.items()]
        print(f"{label}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
