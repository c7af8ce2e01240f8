"""wrk against pyregistry, pypiserver, devpi and nginx serving the same bytes, interleaved, in one table.

One command: ``uv run python benchmarks/wrk_compare.py`` (``--help`` for sizes, durations, ``--baseline``).
All servers run at the same time; every repetition runs each path against each server in turn, so load
from other processes on the machine falls on all of them alike. The table gives the median rps of the
repetitions with their range, and each path's rate as a fraction of the same server's ``/healthz``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from compare_peers import (
    HTML,
    RESULTS,
    Target,
    _get,
    discover_files,
    start_devpi,
    start_pypiserver,
    start_pyregistry,
    versions,
)
from corpus import ROOT, build_corpus
from servers import rotated

sys.path.insert(0, str(ROOT))
from tests.support.nginx import nginx_serving, running_nginx

PATHS = ("/healthz", "project page", "root index", "small file")
_FLOOR = {"pypiserver": "/health", "devpi": "/+api"}
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_STATIC_SERVER = """        root {root};
        location / {{ try_files $uri $uri/index.html =404; }}
"""


@dataclass
class Row:
    """One server under test: where each measured path is and what headers it needs."""

    name: str
    port: int
    paths: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[float]] = field(default_factory=dict)


def wrk(port: int, path: str, headers: dict[str, str], connections: int, seconds: int) -> float:
    """Requests per second from one ``wrk`` run (2 threads); non-2xx answers make it fail loudly."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{path} on port {port} answered errors:\n{output}")
    match = _RPS.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(match.group(1))


def row_for(target: Target, name: str) -> Row:
    """The measured paths of a loaded server: a fixed project page, the root index, one small file."""
    discover_files(target, count=1)
    return Row(
        name=name,
        port=target.server.port,
        headers={**target.headers, "Accept": HTML},
        paths={
            "/healthz": _FLOOR.get(name, "/healthz"),
            "project page": f"{target.index_path}{target.projects[0]}/",
            "root index": target.index_path,
            "small file": target.file_paths[0],
        },
    )


@contextmanager
def nginx_static(work: Path, source: Row) -> Iterator[Row]:
    """nginx serving the bytes pyregistry answered for each path, saved as files: the ceiling row."""
    prefix = work / "nginx"
    shutil.rmtree(prefix, ignore_errors=True)
    root = prefix / "root"
    paths: dict[str, str] = {}
    for label, path in source.paths.items():
        status, body = _get(source.port, path, source.headers)
        if status != 200:
            raise RuntimeError(f"pyregistry answered {status} for {path}")
        saved = root / path.lstrip("/")
        if path.endswith("/"):
            saved = saved / "index.html"
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(body)
        paths[label] = path
    with nginx_serving(work, _STATIC_SERVER.format(root=root)) as base:
        yield Row(name="nginx-static", port=int(base.rsplit(":", 1)[1]), paths=paths)


def print_table(rows: list[Row]) -> str:
    """Markdown: median rps [min-max] per path and server, fraction of /healthz, pyregistry's ratio to each."""
    ours = rows[0]
    header = "| path | " + " | ".join(row.name for row in rows) + " |"
    lines = [header, "|---" * (len(rows) + 1) + "|"]
    for label in PATHS:
        cells = []
        for row in rows:
            runs = row.results[label]
            median = statistics.median(runs)
            cell = f"{median:,.0f} [{min(runs):,.0f}-{max(runs):,.0f}]"
            if label != "/healthz" and row.name.startswith("pyregistry"):
                cell += f" ({median / statistics.median(row.results['/healthz']):.2f} of floor)"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for label in PATHS[1:]:
        mine = statistics.median(ours.results[label])
        ratios = [f"{row.name} {mine / statistics.median(row.results[label]):.2f}x" for row in rows[1:]]
        lines.append(f"- {label}: {ours.name} / " + ", ".join(ratios))
    text = "\n".join(lines)
    print(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-devpi", action="store_true")
    parser.add_argument("--skip-pypiserver", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another pyregistry commit: also run its sources (same venv, same data) as a row",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE,...",
        help="also run this tree with extra environment as a row, e.g. 'quiet:LOG_FILTER=warning'",
    )
    parser.add_argument(
        "--accel",
        action="store_true",
        help="also run pyregistry behind nginx with X-Accel-Redirect downloads (pages proxied through nginx)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk nginx-light)")

    work = RESULTS / f"work-{args.projects}x{args.versions}-w0-b1"
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(work / "corpus", args.projects, args.versions, 0, 1)
    with ExitStack() as stack:
        ours, _ = start_pyregistry(work, corpus, wide=False)
        stack.callback(ours.server.stop)
        rows = [row_for(ours, "pyregistry")]
        if args.baseline is not None:
            sources = os.pathsep.join(str(path) for path in sorted(args.baseline.glob("packages/*/src")))
            base = start_pyregistry(work, corpus, wide=False, extra_env={"PYTHONPATH": sources})[0]
            stack.callback(base.server.stop)
            rows.append(row_for(base, "pyregistry@baseline"))
        for variant in args.variant:
            label, _, assignments = variant.partition(":")
            extra = dict(item.split("=", 1) for item in assignments.split(",") if item)
            other = start_pyregistry(work, corpus, wide=False, extra_env=extra)[0]
            stack.callback(other.server.stop)
            rows.append(row_for(other, f"pyregistry {label}"))
        if args.accel:
            accel_env = {"PYREGISTRY_ACCEL_REDIRECT_PREFIX": "/_blobs/"}
            accel = start_pyregistry(work, corpus, wide=False, extra_env=accel_env)[0]
            stack.callback(accel.server.stop)
            blobs = work / "pyregistry" / ".pyregistry" / "blobs"
            front = stack.enter_context(running_nginx(work / "accel", accel.server.port, "/_blobs/", blobs))
            row = row_for(accel, "pyregistry+nginx-accel")
            row.port = int(front.rsplit(":", 1)[1])
            rows.append(row)
        if not args.skip_pypiserver:
            peer = start_pypiserver(work, [corpus.small], "pypiserver")
            stack.callback(peer.server.stop)
            peer.projects = list(ours.projects)
            rows.append(row_for(peer, "pypiserver"))
        if not args.skip_devpi:
            devpi = start_devpi(work, corpus, 50)
            if devpi is not None:
                stack.callback(devpi.server.stop)
                rows.append(row_for(devpi, "devpi"))
        rows.append(stack.enter_context(nginx_static(work, rows[0])))
        for repeat in range(args.repeats):
            for label in PATHS:
                for row in rotated(rows, repeat):
                    headers = row.headers if label != "/healthz" else {**row.headers, "Accept": "*/*"}
                    rate = wrk(row.port, row.paths[label], headers, args.connections, args.seconds)
                    row.results.setdefault(label, []).append(rate)
            print(f"repetition {repeat + 1}/{args.repeats} done", file=sys.stderr)
        load = os.getloadavg()
        print(f"\nMachine: {versions()}; load average {load[0]:.1f} at the end (shared machine)")
        print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.repeats} repetitions, interleaved\n")
        table = print_table(rows)
        (RESULTS / "last-wrk-run.md").write_text(f"Machine: {versions()}\n\n{table}\n")


if __name__ == "__main__":
    main()
