"""What the release policies cost a mirrored project page.

Run from the repository root: ``uv run python benchmarks/release_policy_pages.py [VERSIONS]``. It starts a loopback
upstream (``tests/support/fault_upstream.py``) serving one project with VERSIONS versions (default 300, one wheel
each, with PEP 700 upload times spread over the last year) and one pyregistry server (SQLite, filesystem) with
three mirroring tenants: ``off`` (no policy), ``cooldown`` (``min_release_age = 30d``) and ``full`` (the cooldown
plus ``hide`` for advisories at or above ``medium``, over an advisory directory with 20 advisories on the project).
It prints the median time of the JSON simple page (which pyregistry never caches for a mirroring tenant) per tenant.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import start_registry
from tests.support.vulnerability_advisories import write_vulnerability_advisory

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
ROUNDS = 40


def main(versions: int) -> None:
    with tempfile.TemporaryDirectory() as scratch, FaultyUpstream() as upstream:
        root = Path(scratch)
        now = datetime.now(UTC)
        wheels = [build_wheel(root / "dist", "big-project", f"1.{n}.0") for n in range(versions)]
        times = {
            wheel.name: (now - timedelta(days=365 * (versions - n) / versions)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for n, wheel in enumerate(wheels)
        }
        upstream.add("big-project", FaultyProject(wheel=wheels[0], more_wheels=wheels[1:], upload_times=times))
        advisories = root / "advisories"
        for n in range(20):
            affected = [f"1.{v}.0" for v in range(n * 5, n * 5 + 3)]
            write_vulnerability_advisory(advisories, f"PYSEC-2099-{n}", "big-project", affected, rating="HIGH")
        server = start_registry(
            root / "server",
            {
                "PYPI_BASE_URL": upstream.url,
                "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0",
                "ADVISORY_DB_PATH": str(advisories),
            },
        )
        try:
            for tenant in ("off", "cooldown", "full"):
                server.create_tenant(tenant, "--enable-mirroring")
            server.cli("set-release-policy", "--tenant", "cooldown", "--min-release-age", "30d")
            server.cli(
                "set-release-policy", "--tenant", "full", "--min-release-age", "30d",
                "--vulnerabilities", "hide", "--vulnerability-severity", "medium",
            )  # fmt: skip
            print(f"big-project: {versions} versions, JSON simple page, median of {ROUNDS}")
            for tenant in ("off", "cooldown", "full"):
                token = server.issue_token(tenant, "read")
                url = f"{server.base_url}/t/{tenant}/simple/big-project/"
                with httpx.Client(auth=("__token__", token), headers=JSON, timeout=60) as client:
                    files = len(client.get(url).json()["files"])
                    samples = []
                    for _ in range(ROUNDS):
                        started = time.perf_counter()
                        client.get(url).raise_for_status()
                        samples.append(time.perf_counter() - started)
                print(f"  {tenant:9} {statistics.median(samples) * 1000:7.1f} ms  ({files} files offered)")
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
