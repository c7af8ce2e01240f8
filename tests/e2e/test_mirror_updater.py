"""The background updater refreshes mirrored projects on its own and stops cleanly with the server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e


def _wait_for(condition, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _mirror_of(upstream: FaultyUpstream, tmp_path: Path, **env: str) -> RunningRegistry:
    """A registry mirroring ``upstream`` whose updater runs every second (unless ``env`` says otherwise)."""
    settings = {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_UPDATE_ENABLED": "true"}
    return start_registry(tmp_path / "mirror", {**settings, "PYPI_MIRROR_UPDATE_INTERVAL_SECONDS": "1", **env})


def test_updater_refreshes_and_caches_without_clients(tmp_path: Path) -> None:
    upstream = FaultyUpstream()
    project = FaultyProject(wheel=build_wheel(tmp_path / "dist", "watched", "1.0.0"))
    upstream.add("watched", project)
    file_path = f"/files/watched/{project.wheel.name}"
    server = _mirror_of(
        upstream, tmp_path, PYPI_MIRROR_UPDATE_ON_STARTUP="true", PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT="100"
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        token = server.issue_token("corp", "read")
        page = httpx.get(f"{server.base_url}/t/corp/simple/watched/", auth=("__token__", token), timeout=30)
        assert page.status_code == 200
        assert _wait_for(lambda: upstream.hits[file_path] == 1), "the eager download did not happen"
        seen = upstream.hits["/simple/watched/"]
        assert _wait_for(lambda: upstream.hits["/simple/watched/"] >= seen + 2), "the updater did not refresh"
        assert upstream.hits[file_path] == 1, "cached files must not be downloaded again"
        process = server.process
        assert process is not None
        server.stop()
        assert process.returncode in {0, -15}, "uvicorn re-raises SIGTERM after a graceful shutdown"
        log = server.log_path.read_text()
        assert "mirror.updater_stopped" in log
        assert "Traceback" not in log
    finally:
        server.stop()
        upstream.stop()


def test_updater_disabled_never_refreshes_and_eager_downloads_log_the_request_id(tmp_path: Path) -> None:
    upstream = FaultyUpstream()
    project = FaultyProject(wheel=build_wheel(tmp_path / "dist", "quiet", "1.0.0"))
    upstream.add("quiet", project)
    server = _mirror_of(upstream, tmp_path, PYPI_MIRROR_UPDATE_ENABLED="false", LOG_FORMAT="json")
    try:
        server.create_tenant("corp", "--enable-mirroring")
        token = server.issue_token("corp", "read")
        page = httpx.get(
            f"{server.base_url}/t/corp/simple/quiet/",
            auth=("__token__", token),
            headers={"X-Request-ID": "page-request-0001"},
            timeout=30,
        )
        assert page.is_success
        time.sleep(2.5)
        assert upstream.hits["/simple/quiet/"] == 1
        assert upstream.hits[f"/files/quiet/{project.wheel.name}"] == 1, "the newest version is cached eagerly"
        events = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        cached = [event for event in events if str(event["event"]).startswith("mirror.cached")]
        assert [event.get("request_id") for event in cached] == ["page-request-0001"]
    finally:
        server.stop()
        upstream.stop()


def test_sigterm_during_a_hanging_pass_stops_before_the_next_project(tmp_path: Path) -> None:
    upstream = FaultyUpstream(hang_seconds=30)
    names = ["slow-a", "slow-b", "slow-c"]
    projects = {name: FaultyProject(wheel=build_wheel(tmp_path / "dist", name, "1.0.0")) for name in names}
    for name, project in projects.items():
        upstream.add(name, project)
    server = _mirror_of(
        upstream,
        tmp_path,
        PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT="0",
        PYPI_MIRROR_HTTP_TIMEOUT_SECONDS="2",
        PYPI_ARTIFACT_DOWNLOAD_INITIAL_BACKOFF_MILLIS="50",
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        token = server.issue_token("corp", "read")
        for name in names:
            page = httpx.get(f"{server.base_url}/t/corp/simple/{name}/", auth=("__token__", token), timeout=30)
            assert page.status_code == 200
        for project in projects.values():
            project.page_faults.extend(["hang"] * 10)
        first = "/simple/slow-a/"
        seen = upstream.hits[first]
        assert _wait_for(lambda: upstream.hits[first] > seen), "the updater did not start a pass"
        hits = dict(upstream.hits)
        process = server.process
        assert process is not None
        started = time.monotonic()
        server.stop()
        elapsed = time.monotonic() - started
        assert elapsed < 6, f"shutdown took {elapsed:.1f}s with an upstream request hanging"
        assert process.returncode in {0, -15}
        assert dict(upstream.hits) == hits, "no upstream request (retry or next project) may follow SIGTERM"
        log = server.log_path.read_text()
        assert "mirror.updater_stopped" in log and "pass_abandoned" not in log
        assert "Traceback" not in log
    finally:
        server.stop()
        upstream.stop()
