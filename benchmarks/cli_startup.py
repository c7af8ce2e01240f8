"""How long ``pyregistry`` commands take from exec to exit: the median of N runs per command.

A hyperfine-like measurement in pure Python: each command runs as a subprocess of the console script against a
throwaway SQLite data directory, after one warm-up run. Wall time suffers from whatever else the machine runs, so
the CPU time (user + system) of the process is printed too. Python writes bytecode caches on the warm-up run, as
an installed package has them (``--no-bytecode`` keeps ``PYTHONDONTWRITEBYTECODE`` and compiles on every run).
Run it from the repository root::

    uv run python benchmarks/cli_startup.py            # 10 runs per command
    uv run python benchmarks/cli_startup.py --runs 20 --exe /other/checkout/.venv/bin/pyregistry
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "--version": ["--version"],
    "issue-token (sqlite)": ["issue-token", "--tenant", "bench", "--name", "bench", "--scope", "read"],
    "list-tokens (sqlite)": ["list-tokens", "--tenant", "bench"],
    "config show": ["config", "show"],
}


def _environment(keep_no_bytecode: bool) -> dict[str, str]:
    dropped = {"PYREGISTRY_CONFIG"} if keep_no_bytecode else {"PYREGISTRY_CONFIG", "PYTHONDONTWRITEBYTECODE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update({"SUPERADMIN_PASSWORD": "benchmark-password", "COOKIE_SECRET": "benchmark-cookie-secret-" * 2})
    return env


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(exe: str, args: list[str], workdir: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall time, CPU time and exit code of one run."""
    cpu_before = _cpu_of_children()
    started = time.perf_counter()
    result = subprocess.run([exe, *args], cwd=workdir, env=env, capture_output=True, check=False)
    return time.perf_counter() - started, _cpu_of_children() - cpu_before, result.returncode


def main() -> None:
    """Print the median, minimum and maximum wall time of every command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (after one warm-up)")
    parser.add_argument("--exe", default=str(Path(sys.executable).parent / "pyregistry"), help="console script")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE from the caller")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyregistry-cli-bench-") as directory:
        workdir = Path(directory)
        env = _environment(options.no_bytecode)
        setup = [options.exe, "create-tenant", "--slug", "bench", "--display-name", "Bench"]
        subprocess.run(setup, cwd=workdir, env=env, capture_output=True, check=True)
        print(f"{'command':<24} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8}  exit  ({options.runs} runs)")
        for label, args in COMMANDS.items():
            _run(options.exe, args, workdir, env)
            runs = [_run(options.exe, args, workdir, env) for _ in range(options.runs)]
            walls = [wall for wall, _cpu, _code in runs]
            cpu = statistics.median(cpu for _wall, cpu, _code in runs)
            print(
                f"{label:<24} {statistics.median(walls):>7.3f}s {min(walls):>7.3f}s {max(walls):>7.3f}s {cpu:>7.3f}s"
                f"  {runs[-1][2]:>4}"
            )


if __name__ == "__main__":
    main()
