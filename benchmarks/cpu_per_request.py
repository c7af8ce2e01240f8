"""Server CPU time per request: what a setting or another commit costs, measured so machine load hardly matters.

One command: ``uv run python benchmarks/cpu_per_request.py --variant 'warning-logs:LOG_FILTER=warning'``
(``--help`` for sizes and ``--baseline``). Throughput on a shared machine moves by a factor of two between runs;
the CPU seconds the server's process tree spends per answered request move far less, because time spent waiting
for a core is not counted. Each server (this checkout, one worker, SQLite; plus each ``--variant`` and
``--baseline``) gets ``wrk`` on ``/healthz``, a cached project page, the cached root index and a small file, in
turn, for each repetition; the table gives the median microseconds of server CPU per request and each row's
ratio to the first (e.g. ``LOG_FILTER=info`` over ``warning`` is what the access line costs).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from compare_peers import RESULTS, start_pyregistry, versions
from corpus import build_corpus
from servers import _children, rotated
from wrk_compare import PATHS, Row, row_for

_REQUESTS = re.compile(r"(\d+) requests in")
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process and its descendants so far (from ``/proc``)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        pending += _children(current)
    return total / _TICKS


def cpu_per_request(row: Row, pid: int, label: str, connections: int, seconds: int) -> float:
    """Microseconds of server CPU per request during one wrk run."""
    return measure(row, pid, label, connections, seconds)[1]


def measure(row: Row, pid: int, label: str, connections: int, seconds: int) -> tuple[float, float]:
    """Requests per second and microseconds of server CPU per request, from one wrk run."""
    headers = row.headers if label != "/healthz" else {**row.headers, "Accept": "*/*"}
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    before = tree_cpu_seconds(pid)
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{row.port}{row.paths[label]}"], capture_output=True, text=True, check=True
    ).stdout
    spent = tree_cpu_seconds(pid) - before
    if "Non-2xx" in output:
        raise RuntimeError(f"{label} on {row.name} answered errors:\n{output}")
    match, rate = _REQUESTS.search(output), _RPS.search(output)
    if match is None or rate is None or int(match.group(1)) == 0:
        raise RuntimeError(f"wrk printed no request count:\n{output}")
    return float(rate.group(1)), spent / int(match.group(1)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="a checkout of another commit: its sources as a row")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:KEY=VALUE,...")
    args = parser.parse_args()
    work = RESULTS / f"work-{args.projects}x{args.versions}-w0-b1"
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(work / "corpus", args.projects, args.versions, 0, 1)
    runs: list[tuple[str, dict[str, str]]] = [("pyregistry", {})]
    if args.baseline is not None:
        sources = os.pathsep.join(str(path) for path in sorted(args.baseline.glob("packages/*/src")))
        runs.append(("pyregistry@baseline", {"PYTHONPATH": sources}))
    for variant in args.variant:
        label, _, assignments = variant.partition(":")
        runs.append((f"pyregistry {label}", dict(item.split("=", 1) for item in assignments.split(",") if item)))
    with ExitStack() as stack:
        rows: list[tuple[Row, int]] = []
        for name, extra in runs:
            target = start_pyregistry(work, corpus, wide=False, extra_env=extra)[0]
            stack.callback(target.server.stop)
            rows.append((row_for(target, name), target.server.process.pid))
        loads = []
        for repeat in range(args.repeats):
            for label in PATHS:
                for row, pid in rotated(rows, repeat):
                    cost = cpu_per_request(row, pid, label, args.connections, args.seconds)
                    row.results.setdefault(label, []).append(cost)
            loads.append(os.getloadavg()[0])
            print(f"repetition {repeat + 1}/{args.repeats} done", file=sys.stderr)
    first = rows[0][0]
    lines = ["| path | " + " | ".join(row.name for row, _ in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for label in PATHS:
        cells = []
        for row, _ in rows:
            values = row.results[label]
            cells.append(f"{statistics.median(values):,.0f} µs [{min(values):,.0f}-{max(values):,.0f}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for row, _ in rows[1:]:
        ratios = [
            f"{label} {statistics.median(first.results[label]) / statistics.median(row.results[label]):.2f}x"
            for label in PATHS
        ]
        lines.append(f"- {first.name} / {row.name} (CPU per request): " + ", ".join(ratios))
    header = (
        f"Machine: {versions()}; load average {min(loads):.1f} to {max(loads):.1f} (shared machine)\n"
        f"server CPU per request, wrk -t2 -c{args.connections} -d{args.seconds}s, {args.repeats} repetitions, "
        "interleaved"
    )
    text = header + "\n\n" + "\n".join(lines)
    print("\n" + text)
    (RESULTS / "last-cpu-run.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
