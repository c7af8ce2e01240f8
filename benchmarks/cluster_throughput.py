"""Throughput of 1, 2 and 3 ``pyregistry serve`` nodes behind nginx, on PostgreSQL + S3 (moto) + Redis.

One command: ``uv run python benchmarks/cluster_throughput.py`` (``--help`` for node counts, durations). For each
node count it starts a fresh cluster (``tests/support/cluster.py``: the topology of "Running several nodes"),
uploads a few wheels, then measures with ``wrk`` through the balancer: a project page and a small file download
(authenticated, so the rate limit gives every token back), plus the uploads per second of a burst of concurrent
``twine upload`` runs. Every node, nginx, PostgreSQL, Redis, moto and the load generator share this machine's
cores: on a 2-core machine more nodes add processes competing for the same CPUs, so read the rows as "what this
machine does", not as what separate machines would.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.cluster import Cluster, balanced_cluster  # noqa: E402
from tests.support.dists import build_wheel  # noqa: E402
from tests.support.server import BIN_DIR, clean_client_env  # noqa: E402

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
NODE_ENV = {"RATE_LIMIT_ENABLED": "true", "BACKGROUND_EXECUTOR": "database", "LOG_FILTER": "warning"}


def wrk(url: str, token: str, connections: int, seconds: int) -> float:
    """Requests per second of one ``wrk -t2`` run; non-2xx answers fail loudly."""
    basic = base64.b64encode(f"__token__:{token}".encode()).decode()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Authorization: Basic {basic}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors:\n{output}")
    match = _RPS.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(match.group(1))


def twine(cluster: Cluster, token: str, wheel: Path) -> None:
    command = [str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
    command += ["--repository-url", cluster.upload_url("acme"), "-u", "__token__", "-p", token, str(wheel)]
    subprocess.run(command, capture_output=True, text=True, timeout=300, env=clean_client_env(), check=True)


def uploads_per_second(cluster: Cluster, token: str, work: Path, count: int, parallel: int) -> float:
    """``count`` distinct wheels uploaded by ``parallel`` concurrent twine runs (twine's own start-up included)."""
    wheels = [build_wheel(work / f"burst-{number}", f"burst-{number}", "1.0.0") for number in range(count)]
    started = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda wheel: twine(cluster, token, wheel), wheels))
    return count / (time.monotonic() - started)


def measure(nodes: int, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"pyr-cluster-{nodes}-") as tmp:
        work = Path(tmp)
        with balanced_cluster(work, nodes, NODE_ENV) as cluster:
            first = cluster.nodes[0]
            first.create_tenant("acme")
            token = first.issue_token("acme", "read", "publish", name="bench")
            wheel = build_wheel(work / "dist", "bench-lib", "1.0.0")
            twine(cluster, token, wheel)
            page = f"{cluster.base_url}/t/acme/simple/bench-lib/"
            file_url = re.search(r'href="([^"#]+)', _get(page, token))
            assert file_url is not None
            download = str(httpx.URL(page).join(file_url.group(1)))
            row: dict[str, float] = {}
            for label, url in (("project page", page), ("small file", download)):
                rates = [wrk(url, token, args.connections, args.seconds) for _ in range(args.repeats)]
                row[label] = statistics.median(rates)
            row["uploads/s"] = uploads_per_second(cluster, token, work, args.uploads, args.parallel)
            return row


def _get(url: str, token: str) -> str:
    response = httpx.get(url, auth=("__token__", token), timeout=60)
    response.raise_for_status()
    return response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3], help="node counts to measure")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=2, help="wrk runs per path (median reported)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--uploads", type=int, default=24, help="wheels in the upload burst")
    parser.add_argument("--parallel", type=int, default=6, help="concurrent twine runs in the upload burst")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        sys.exit("wrk and nginx are needed (Debian: apt-get install -y wrk nginx-light)")
    rows = {nodes: measure(nodes, args) for nodes in args.nodes}
    print(f"\nwrk -t2 -c{args.connections} -d{args.seconds}s through nginx, median of {args.repeats}; ")
    print(f"upload burst: {args.uploads} wheels, {args.parallel} concurrent twine runs\n")
    print("| nodes | project page rps | small file rps | uploads/s |")
    print("| --- | --- | --- | --- |")
    for nodes, row in rows.items():
        print(f"| {nodes} | {row['project page']:.0f} | {row['small file']:.0f} | {row['uploads/s']:.2f} |")


if __name__ == "__main__":
    main()
