"""How many small wheels per second ``pyregistry import`` brings in from a local (pypiserver-layout) directory.

Generates N small valid wheels (N projects x 1 version, one subdirectory per project, as pypiserver lays them
out), creates a throwaway SQLite + filesystem registry, and times ``pyregistry import`` as a subprocess (the
same thing an operator runs), then times the re-run, which only compares sha256 and imports nothing. Run it
from the repository root::

    uv run python benchmarks/import_wheels.py                      # 2000 wheels, parallelism 16
    uv run python benchmarks/import_wheels.py --wheels 5000 --parallelism 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dists import build_wheel

PYREGISTRY = str(Path(sys.executable).parent / "pyregistry")


def _generate(root: Path, count: int) -> None:
    for number in range(count):
        build_wheel(root / f"bench-pkg-{number}", f"bench-pkg-{number}", "1.0.0")


def _run(workdir: Path, *args: str) -> tuple[float, dict[str, Any]]:
    """Wall time and report of one command; the CPU time it used is added to the report as ``cpu_seconds``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    skip = {"PYREGISTRY_CONFIG", "PYTHONDONTWRITEBYTECODE"}  # an installed package has its bytecode compiled
    env = {key: value for key, value in os.environ.items() if key not in skip}
    started = time.perf_counter()
    result = subprocess.run(
        [PYREGISTRY, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith("{"):
        raise SystemExit(f"pyregistry {' '.join(args)} failed: {result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=int, default=2000)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyregistry-import-bench-") as scratch:
        root = Path(scratch)
        source = root / "packages"
        started = time.perf_counter()
        _generate(source, args.wheels)
        print(f"generated {args.wheels} wheels in {time.perf_counter() - started:.1f} s")
        workdir = root / "registry"
        workdir.mkdir()
        subprocess.run(
            [PYREGISTRY, "create-tenant", "--slug", "bench", "--display-name", "Bench"],
            cwd=workdir,
            check=True,
            capture_output=True,
        )
        command = ["import", "--tenant", "bench", "--parallelism", str(args.parallelism), "--json", str(source)]
        elapsed, report = _run(workdir, *command)
        _report("first import", elapsed, report, args.parallelism)
        elapsed, report = _run(workdir, *command)
        _report("re-run (no-op)", elapsed, report, args.parallelism)


def _report(label: str, elapsed: float, report: dict[str, Any], parallelism: int) -> None:
    seconds = float(report["seconds"])
    offered = int(report["offered"])
    print(
        f"{label}: {report['imported']} imported, {report['present']} already present of {offered}; "
        f"import {seconds:.2f} s = {offered / seconds:.0f} wheels/s, whole command {elapsed:.2f} s = "
        f"{offered / elapsed:.0f} wheels/s; CPU {report['cpu_seconds']:.2f} s = "
        f"{offered / report['cpu_seconds']:.0f} wheels per CPU-second (parallelism {parallelism})"
    )


if __name__ == "__main__":
    main()
