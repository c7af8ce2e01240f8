"""A bounded load run on loopback: pip and twine processes at once against one server, nothing lost, no 5xx.

For a fixed window, pip downloads/installs and twine uploads of distinct files run concurrently, and some files are
uploaded by two twine processes at the same moment. Afterwards every accepted upload is in the index exactly once,
every duplicate got a clean 400/409, and no 5xx was seen: neither in the statuses the clients received (counted inside
the pip and twine processes, so a change of log format cannot make the check pass vacuously) nor in the server log.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry
from tests.support.status_probe import probe_env, read_statuses

pytestmark = pytest.mark.e2e

TENANT = "load"
WINDOW_SECONDS = 15
UPLOADERS = 3
DOWNLOADERS = 3
DUPLICATE_PAIRS = 6
_STATUS = re.compile(r"request finished .*?status=(\d{3})")


@dataclass
class Tally:
    """What the clients did, shared between worker threads."""

    env: dict[str, str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter[str] = field(default_factory=Counter)
    accepted: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    duplicate_outcomes: list[tuple[int, list[str]]] = field(default_factory=list)

    def count(self, kind: str) -> None:
        with self.lock:
            self.ops[kind] += 1

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    running = start_registry(tmp_path_factory.mktemp("load"), {"PYREGISTRY_WORKERS": "2"})
    try:
        running.create_tenant(TENANT)
        yield running
    finally:
        running.stop()


def _twine(server: RunningRegistry, token: str, wheel: Path, tally: Tally) -> subprocess.Popen[str]:
    args = [str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar", "--verbose"]
    args += ["--repository-url", server.upload_url(TENANT), "-u", "__token__", "-p", token, str(wheel)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=tally.env)


def _pip(
    server: RunningRegistry, token: str, target: Path, install: bool, tally: Tally
) -> subprocess.CompletedProcess[str]:
    action = ["install", "--target", str(target / "site")] if install else ["download", "--dest", str(target / "dl")]
    args = [sys.executable, "-m", "pip", *action, "--no-cache-dir", "--no-deps"]
    args += ["--index-url", server.index_url(TENANT, token), "load-seed"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=tally.env)


def _uploader(server: RunningRegistry, token: str, queue: list[Path], deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        with tally.lock:
            if not queue:
                return
            wheel = queue.pop()
        process = _twine(server, token, wheel, tally)
        output, _ = process.communicate(timeout=120)
        tally.count("twine upload")
        if process.returncode == 0:
            with tally.lock:
                tally.accepted.append(wheel)
        else:
            tally.fail(f"twine {wheel.name}: {output[-500:]}")


def _duplicates(server: RunningRegistry, token: str, pairs: list[Path], deadline: float, tally: Tally) -> None:
    for wheel in pairs:
        if time.monotonic() >= deadline:
            return
        processes = [_twine(server, token, wheel, tally), _twine(server, token, wheel, tally)]
        outputs = [process.communicate(timeout=120)[0] for process in processes]
        tally.count("twine upload (duplicate race)")
        tally.count("twine upload (duplicate race)")
        successes = sum(process.returncode == 0 for process in processes)
        with tally.lock:
            tally.duplicate_outcomes.append(
                (successes, [o for p, o in zip(processes, outputs, strict=True) if p.returncode])
            )
            if successes:
                tally.accepted.append(wheel)


def _downloader(server: RunningRegistry, token: str, work: Path, deadline: float, tally: Tally) -> None:
    round_number = 0
    while time.monotonic() < deadline:
        round_number += 1
        install = round_number % 2 == 0
        result = _pip(server, token, work / str(round_number), install, tally)
        tally.count("pip install" if install else "pip download")
        if result.returncode != 0:
            tally.fail(f"pip: {result.stderr[-500:]}")


def test_concurrent_clients_lose_nothing_and_get_no_5xx(server: RunningRegistry, tmp_path: Path) -> None:
    token = server.issue_token(TENANT, "publish", "read")
    probe = tmp_path / "probe"
    tally = Tally(env=probe_env(probe, clean_client_env()))
    seed = build_wheel(tmp_path / "seed", "load-seed", "1.0.0")
    assert _twine(server, token, seed, tally).wait(timeout=120) == 0
    distinct = [build_wheel(tmp_path / "d", f"load-pkg-{i}", "1.0.0") for i in range(UPLOADERS * 25)]
    pairs = [build_wheel(tmp_path / "p", f"load-dup-{i}", "1.0.0") for i in range(DUPLICATE_PAIRS)]
    started = time.monotonic()
    deadline = started + WINDOW_SECONDS
    with ThreadPoolExecutor(max_workers=UPLOADERS + DOWNLOADERS + 1) as pool:
        jobs = [pool.submit(_uploader, server, token, distinct, deadline, tally) for _ in range(UPLOADERS)]
        jobs += [
            pool.submit(_downloader, server, token, tmp_path / f"pip{n}", deadline, tally) for n in range(DOWNLOADERS)
        ]
        jobs.append(pool.submit(_duplicates, server, token, pairs, deadline, tally))
        for job in jobs:
            job.result()
    elapsed = time.monotonic() - started

    assert tally.failures == []
    assert tally.duplicate_outcomes, "no duplicate race ran"
    for successes, refused in tally.duplicate_outcomes:
        assert successes == 1, refused
        assert len(refused) == 1
        assert re.search(r"\b(400|409)\b", refused[0]) and "File already exists" in refused[0], refused[0]

    for wheel in [seed, *tally.accepted]:
        project = wheel.name.split("-")[0].replace("_", "-")
        page = httpx.get(
            f"{server.base_url}/t/{TENANT}/simple/{project}/",
            auth=("__token__", token),
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()
        assert [entry["filename"] for entry in page["files"]] == [wheel.name]
        assert page["files"][0]["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()

    seen = read_statuses(probe)
    requests = sum(seen.values())
    client_errors = sum(count for code, count in seen.items() if code >= 500)
    logged = Counter(int(code) for code in _STATUS.findall(server.log_path.read_text()))
    logged_errors = sum(count for code, count in logged.items() if code >= 500)
    ops = sum(tally.ops.values())
    print(
        f"\nload: {requests} requests made by {ops} client operations in {elapsed:.1f} s ({dict(tally.ops)}), "
        f"statuses seen {dict(sorted(seen.items()))}; {len(tally.accepted)} uploads accepted, "
        f"{len(tally.duplicate_outcomes)} duplicates refused, 5xx = {client_errors} "
        f"(server log: {sum(logged.values())} requests, 5xx = {logged_errors})"
    )
    assert requests > 0, "the clients' responses were not counted"
    assert requests >= ops + 1, "every client operation (and the seed upload) makes at least one request"
    assert client_errors == 0, seen
    assert logged_errors == 0, logged
    assert tally.ops["twine upload"] >= UPLOADERS
    assert tally.ops["pip download"] + tally.ops["pip install"] >= DOWNLOADERS
