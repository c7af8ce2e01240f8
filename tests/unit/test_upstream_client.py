"""The upstream HTTP client's rules against a real misbehaving server: deadlines, progress, retries, caps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream

TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    server = FaultyUpstream(hang_seconds=TIMEOUT_SECONDS + 1.5, drip_seconds=0.1)
    try:
        yield server
    finally:
        server.stop()


def _client(base_url: str, **options: int) -> HttpUpstreamIndex:
    settings = {"metadata_max_bytes": 100_000, "artifact_max_bytes": 2_000_000, "max_attempts": 3}
    settings.update(options)
    return HttpUpstreamIndex(
        base_url, timeout_seconds=TIMEOUT_SECONDS, initial_backoff_millis=settings.pop("backoff", 20), **settings
    )


def _project(upstream: FaultyUpstream, tmp_path: Path, name: str, **kwargs: object) -> FaultyProject:
    project = FaultyProject(wheel=build_wheel(tmp_path, name, "1.0.0"), **kwargs)  # type: ignore[arg-type]
    upstream.add(name, project)
    return project


def _file_url(upstream: FaultyUpstream, name: str, project: FaultyProject) -> str:
    return upstream.url.replace("/simple/", f"/files/{name}/{project.wheel.name}")


def _download(client: HttpUpstreamIndex, url: str) -> bytes:
    with client.open_file(url) as stream:
        return b"".join(stream.chunks)


def test_a_dripping_page_fails_at_the_whole_response_deadline(upstream: FaultyUpstream, tmp_path: Path) -> None:
    _project(upstream, tmp_path, "drip-page", page_faults=["drip"], page_padding=2_000)
    client = _client(upstream.url)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match=r"did not arrive within 1 s"):
        client.fetch_project("drip-page")
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_SECONDS + 1, f"the page took {elapsed:.1f}s (it drips for ~15 s)"
    assert upstream.hits["/simple/drip-page/"] == 1
    client.close()


def test_a_dripping_file_fails_once_it_stops_making_progress(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "drip-file", file_faults=["drip"])
    client = _client(upstream.url)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match=r"stalled: less than"):
        _download(client, _file_url(upstream, "drip-file", project))
    elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT_SECONDS + 1, f"the file took {elapsed:.1f}s"
    assert _download(client, _file_url(upstream, "drip-file", project)) == project.wheel.read_bytes()
    client.close()
