"""First-download latency of the mirror: scan before serve, verify-whole vs hold-the-tail streaming.

Run from the repository root: ``uv run python benchmarks/first_download.py``. It starts a loopback upstream
(``tests/support/fault_upstream.py``) and pyregistry servers (SQLite, filesystem), and prints one line per case:
time to the first body byte and to the last, for a first download (upstream fetch, sha256, scan, store) and for
a cached one. About two minutes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import RunningRegistry, start_registry

MIB = 1024 * 1024


@contextmanager
def _registry(workdir: Path, upstream: FaultyUpstream, env: dict[str, str]) -> Iterator[tuple[RunningRegistry, str]]:
    settings = {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0", **env}
    server = start_registry(workdir, settings)
    try:
        server.create_tenant("corp", "--enable-mirroring")
        yield server, server.issue_token("corp", "read")
    finally:
        server.stop()


def _timed_get(server: RunningRegistry, token: str, name: str, filename: str) -> tuple[float, float, int]:
    """Seconds to the first body byte and to the end, and the bytes received."""
    url = f"{server.base_url}/t/corp/files/{name}/1.0.0/{filename}"
    started = time.perf_counter()
    first = 0.0
    size = 0
    with httpx.stream("GET", url, auth=("__token__", token), timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if chunk and not first:
                first = time.perf_counter() - started
            size += len(chunk)
    return first, time.perf_counter() - started, size


def _first_and_cached(server: RunningRegistry, token: str, name: str, wheel: Path) -> tuple[float, float, float]:
    """First download: seconds to first byte and to the end; then one cached download to the end."""
    httpx.get(f"{server.base_url}/t/corp/simple/{name}/", auth=("__token__", token), timeout=60).raise_for_status()
    first, total, _ = _timed_get(server, token, name, wheel.name)
    _, cached, _ = _timed_get(server, token, name, wheel.name)
    return first, total, cached


def _source_heavy_wheel(out: Path, name: str, size: int) -> Path:
    """About ``size`` bytes: 300 Python modules (string literals of random text) plus an incompressible blob."""
    module = name.replace("-", "_")
    files = {
        f"{module}/m{n}.py": "".join(f"V{i} = {os.urandom(24).hex()!r}\n" for i in range(500)).encode()
        for n in range(300)
    }
    files[f"{module}/data.bin"] = os.urandom(max(0, size - 300 * 500 * 30))
    return build_wheel(out, name, "1.0.0", extra_files=files)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _scan_cost(root: Path, upstream: FaultyUpstream) -> None:
    """Small and ~20 MiB wheels, scanning off then on: first download (median of 3, plus the cold first one that
    compiles the YARA rules) and the cached download after it."""
    for scan in ("false", "true"):
        upstream.projects.clear()
        wheels: dict[str, list[tuple[str, Path]]] = {"small": [], "20 MiB": []}
        for n in range(4):
            small = f"small{n}-{scan}"
            wheels["small"].append((small, build_wheel(root / "dist", small, "1.0.0")))
            big = f"twenty{n}-{scan}"
            wheels["20 MiB"].append((big, _source_heavy_wheel(root / "dist", big, 20 * MIB)))
        for pairs in wheels.values():
            for name, wheel in pairs:
                upstream.add(name, FaultyProject(wheel=wheel))
        with _registry(root / f"scan-{scan}", upstream, {"MIRROR_SCAN_ENABLED": scan}) as (server, token):
            for label, pairs in wheels.items():
                runs = [_first_and_cached(server, token, name, wheel) for name, wheel in pairs]
                size = pairs[0][1].stat().st_size / MIB
                print(
                    f"{label:>6} wheel ({size:4.1f} MiB), scan {'on ' if scan == 'true' else 'off'}: first download "
                    f"first byte {_median([run[0] for run in runs[1:]]):5.2f} s, "
                    f"complete {_median([run[1] for run in runs[1:]]):5.2f} s (cold {runs[0][1]:5.2f} s), cached "
                    f"{_median([run[2] for run in runs]):5.3f} s",
                    flush=True,
                )


def _first_byte(root: Path, upstream: FaultyUpstream, wheels: dict[str, Path]) -> None:
    """A 90 MiB wheel and a 2 MiB wheel trickled by the upstream: verify whole vs hold the tail."""
    cap = {"PYPI_MIRROR_ARTIFACT_MAX_BYTES": str(200 * MIB)}
    for mode, threshold in (("verify whole ", 1024 * MIB), ("hold the tail", MIB)):
        upstream.projects.clear()
        upstream.add("ninety-lib", FaultyProject(wheel=wheels["90"]))
        upstream.add("slow-lib", FaultyProject(wheel=wheels["slow"], file_faults=["drip"]))
        env = {"PYPI_MIRROR_VERIFY_WHOLE_MAX_BYTES": str(threshold), **cap}
        with _registry(root / f"mode-{threshold}", upstream, env) as (server, token):
            for label, name, wheel in (
                ("90 MiB", "ninety-lib", wheels["90"]),
                ("2 MiB trickled", "slow-lib", wheels["slow"]),
            ):
                first, total, _ = _first_and_cached(server, token, name, wheel)
                print(f"{label:>14}, {mode}: first byte {first:6.2f} s, complete {total:6.2f} s", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="first-download-") as tmp:
        root = Path(tmp)
        blob = {"ninety_lib/b.bin": os.urandom(90 * MIB)}
        wheels = {
            "90": build_wheel(root / "dist", "ninety-lib", "1.0.0", extra_files=blob),
            "slow": build_wheel(
                root / "dist", "slow-lib", "1.0.0", extra_files={"slow_lib/b.bin": os.urandom(2 * MIB)}
            ),
        }
        with FaultyUpstream(drip_seconds=0.05, drip_bytes=8192) as upstream:
            _scan_cost(root, upstream)
            _first_byte(root, upstream, wheels)


if __name__ == "__main__":
    main()
