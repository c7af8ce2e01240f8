"""Mirror robustness against a fault-injecting upstream: retries, Retry-After, timeouts, caps, hashes, stale pages."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry, start_registry
from tests.support.tenant_access import unique_slug

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
TIMEOUT_SECONDS = 1
ARTIFACT_MAX_BYTES = 1_000_000


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    server = FaultyUpstream(hang_seconds=TIMEOUT_SECONDS + 2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mirror_server(upstream: FaultyUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = start_registry(
        tmp_path_factory.mktemp("mirror"),
        {
            "PYPI_BASE_URL": upstream.url,
            "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0",
            "PYPI_ARTIFACT_DOWNLOAD_MAX_ATTEMPTS": "3",
            "PYPI_ARTIFACT_DOWNLOAD_INITIAL_BACKOFF_MILLIS": "50",
            "PYPI_MIRROR_HTTP_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "PYPI_MIRROR_METADATA_MAX_BYTES": "20000",
            "PYPI_MIRROR_ARTIFACT_MAX_BYTES": str(ARTIFACT_MAX_BYTES),
            "PYPI_MIRROR_UPDATE_INTERVAL_SECONDS": "1",
        },
    )
    try:
        yield server
    finally:
        server.stop()


class MirrorTenant(NamedTuple):
    """The module's server, a read token and the slug of a mirroring tenant of the test's own."""

    server: RunningRegistry
    token: str
    tenant: str


@pytest.fixture
def mirror(mirror_server: RunningRegistry, request: pytest.FixtureRequest) -> MirrorTenant:
    """A mirroring tenant per test: a fault that leaks into one tenant's state fails one test."""
    slug = unique_slug(request.node.name)
    mirror_server.create_tenant(slug, "--enable-mirroring")
    return MirrorTenant(mirror_server, mirror_server.issue_token(slug, "read"), slug)


def _project(upstream: FaultyUpstream, tmp_path: Path, name: str, **kwargs: object) -> FaultyProject:
    project = FaultyProject(wheel=build_wheel(tmp_path, name, "1.0.0"), **kwargs)  # type: ignore[arg-type]
    upstream.add(name, project)
    return project


def _page(mirror: MirrorTenant, name: str) -> httpx.Response:
    server, token, tenant = mirror
    return httpx.get(
        f"{server.base_url}/t/{tenant}/simple/{name}/", headers=JSON, auth=("__token__", token), timeout=60
    )


def _download(mirror: MirrorTenant, name: str, filename: str) -> httpx.Response:
    server, token, tenant = mirror
    url = f"{server.base_url}/t/{tenant}/files/{name}/1.0.0/{filename}"
    return httpx.get(url, auth=("__token__", token), timeout=60)


def test_page_retries_503_twice_then_succeeds(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "flaky", page_faults=[503, 503])
    response = _page(mirror, "flaky")
    assert response.status_code == 200, response.text
    assert [file["filename"] for file in response.json()["files"]] == [project.wheel.name]
    assert upstream.hits["/simple/flaky/"] == 3


def test_file_download_retries_503_then_streams_and_caches(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "flaky-file", file_faults=[503, 503])
    assert _page(mirror, "flaky-file").status_code == 200
    first = _download(mirror, "flaky-file", project.wheel.name)
    assert first.status_code == 200
    assert first.content == project.wheel.read_bytes()
    path = f"/files/flaky-file/{project.wheel.name}"
    assert upstream.hits[path] == 3
    second = _download(mirror, "flaky-file", project.wheel.name)
    assert second.content == project.wheel.read_bytes()
    assert upstream.hits[path] == 3, "the second download must be served from the local cache"


def test_429_honours_retry_after(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    _project(upstream, tmp_path, "limited", page_faults=["429"])
    started = time.monotonic()
    response = _page(mirror, "limited")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert upstream.hits["/simple/limited/"] == 2
    assert elapsed >= 1.0, f"Retry-After: 1 was not honoured ({elapsed:.2f}s)"


def test_upstream_404_is_404(mirror, upstream: FaultyUpstream) -> None:
    response = _page(mirror, "does-not-exist-upstream")
    message = "upstream has no /simple/does-not-exist-upstream/"
    assert (response.status_code, response.json()) == (404, {"message": message, "status": 404})


def test_upstream_hanging_past_timeout_is_502(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    _project(upstream, tmp_path, "hangs", page_faults=["hang", "hang", "hang"])
    started = time.monotonic()
    response = _page(mirror, "hangs")
    elapsed = time.monotonic() - started
    message = "upstream is unreachable"
    assert (response.status_code, response.json()) == (502, {"message": message, "status": 502})
    assert upstream.hits["/simple/hangs/"] == 3
    assert elapsed < 3 * (TIMEOUT_SECONDS + 2), f"timeouts were not applied ({elapsed:.1f}s)"


def test_oversized_page_is_refused(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    _project(upstream, tmp_path, "huge-page", page_padding=50_000)
    response = _page(mirror, "huge-page")
    assert response.status_code == 502
    assert "limit" in response.text


def test_oversized_artifact_is_refused(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    blob = os.urandom(ARTIFACT_MAX_BYTES + 100_000)
    wheel = build_wheel(tmp_path, "huge-file", "1.0.0", extra_files={"huge_file/blob.bin": blob})
    upstream.add("huge-file", FaultyProject(wheel=wheel))
    assert _page(mirror, "huge-file").status_code == 200
    response = _download(mirror, "huge-file", wheel.name)
    assert response.status_code == 502
    assert "mirror_artifact_max_bytes" in response.text


def _fetch_fails(mirror: MirrorTenant, name: str, filename: str, good: bytes) -> None:
    """The client must not end up with bad bytes: the transfer breaks or the status is an error."""
    try:
        response = _download(mirror, name, filename)
    except httpx.HTTPError:
        return
    assert response.status_code >= 500 or response.content != good
    assert response.status_code >= 500, "a bad transfer was delivered as a complete 200 response"


def test_truncated_body_is_retried_and_never_served_or_cached(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "truncated", file_faults=["truncate"])
    assert _page(mirror, "truncated").status_code == 200
    good = project.wheel.read_bytes()
    path = f"/files/truncated/{project.wheel.name}"
    first = _download(mirror, "truncated", project.wheel.name)
    assert first.status_code == 200
    assert first.content == good, "the truncated transfer was retried before anything was served"
    assert upstream.hits[path] == 2
    again = _download(mirror, "truncated", project.wheel.name)
    assert again.content == good
    assert upstream.hits[path] == 2, "the verified file is served from the cache"


def test_truncated_body_on_every_attempt_is_a_502(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "always-truncated", file_faults=["truncate"] * 3)
    assert _page(mirror, "always-truncated").status_code == 200
    response = _download(mirror, "always-truncated", project.wheel.name)
    assert response.status_code == 502
    assert response.text == "502 upstream transfer failed\n"
    assert upstream.hits[f"/files/always-truncated/{project.wheel.name}"] == 3
    server = mirror.server
    blobs = server.workdir / ".pyregistry" / "blobs"
    assert not [path for path in blobs.rglob(project.wheel.name) if path.is_file()], "nothing may be stored"


def test_wrong_hash_is_never_stored_or_served(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "tampered", serve_wrong_bytes=True)
    assert _page(mirror, "tampered").status_code == 200
    good = project.wheel.read_bytes()
    path = f"/files/tampered/{project.wheel.name}"
    _fetch_fails(mirror, "tampered", project.wheel.name, good)
    _fetch_fails(mirror, "tampered", project.wheel.name, good)
    assert upstream.hits[path] == 2, "tampered bytes must not have been cached"


def test_wrong_hash_on_a_multi_chunk_file_is_a_502_before_any_byte(
    mirror, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    blob = os.urandom(700_000)  # several 256 KiB streaming chunks
    wheel = build_wheel(tmp_path, "tampered-big", "1.0.0", extra_files={"tampered_big/blob.bin": blob})
    upstream.add("tampered-big", FaultyProject(wheel=wheel, serve_wrong_bytes=True))
    assert _page(mirror, "tampered-big").status_code == 200
    for attempt in (1, 2):
        response = _download(mirror, "tampered-big", wheel.name)
        assert response.status_code == 502
        assert response.text == f"502 upstream bytes of {wheel.name!r} do not match the recorded sha256\n"
        assert upstream.hits[f"/files/tampered-big/{wheel.name}"] == attempt, "tampered bytes were served from cache"
    server = mirror.server
    blobs = server.workdir / ".pyregistry" / "blobs"
    assert not [path for path in blobs.rglob(wheel.name) if path.is_file()], "tampered bytes were stored"


def test_yanked_upstream_file_is_yanked_in_the_mirror(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    _project(upstream, tmp_path, "yanked-up", yanked="broken build")
    page = _page(mirror, "yanked-up").json()
    assert [file["yanked"] for file in page["files"]] == ["broken build"]
    server, token, tenant = mirror
    html = httpx.get(f"{server.base_url}/t/{tenant}/simple/yanked-up/", auth=("__token__", token), timeout=60).text
    assert 'data-yanked="broken build"' in html


def test_upstream_down_serves_stale_page(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "stale-ok")
    fresh = _page(mirror, "stale-ok")
    assert fresh.status_code == 200
    project.always_down = True
    time.sleep(1.2)
    hits = upstream.hits["/simple/stale-ok/"]
    stale = _page(mirror, "stale-ok")
    assert upstream.hits["/simple/stale-ok/"] > hits, "the page was not re-fetched after its TTL"
    assert stale.status_code == 200
    assert stale.json()["files"] == fresh.json()["files"]
    assert _download(mirror, "stale-ok", project.wheel.name).status_code == 502


def test_local_upload_takes_over_a_mirrored_project(mirror, upstream: FaultyUpstream, tmp_path: Path) -> None:
    server = mirror.server
    upstream_old = build_wheel(tmp_path / "upstream", "taken-over", "1.0.0")
    upstream_new = build_wheel(tmp_path / "upstream", "taken-over", "2.0.0")
    upstream.add("taken-over", FaultyProject(wheel=upstream_old, more_wheels=[upstream_new]))
    assert _page(mirror, "taken-over").json()["versions"] == ["1.0.0", "2.0.0"]
    assert _download(mirror, "taken-over", upstream_old.name).content == upstream_old.read_bytes()
    blobs = server.workdir / ".pyregistry" / "blobs"
    assert [path for path in blobs.rglob(upstream_old.name) if "mirror" in path.parts], "the file was not cached"

    local = build_wheel(tmp_path / "local", "taken-over", "1.0.0", summary="our own build")
    assert local.name == upstream_old.name and sha256_of(local) != sha256_of(upstream_old)
    publisher = server.issue_token(mirror.tenant, "publish", name="takeover")
    upload = form_upload(server.upload_url(mirror.tenant), publisher, local, "taken-over", "1.0.0")
    assert upload.status_code == 200, upload.text

    page = _page(mirror, "taken-over").json()
    assert page["versions"] == ["1.0.0"]
    assert [(file["filename"], file["hashes"]["sha256"]) for file in page["files"]] == [(local.name, sha256_of(local))]
    assert _download(mirror, "taken-over", local.name).content == local.read_bytes()
    assert _download(mirror, "taken-over", upstream_new.name).status_code == 404
    assert not [
        path for path in blobs.rglob("*") if path.is_file() and "mirror" in path.parts and "taken-over" in path.parts
    ]
    again = form_upload(server.upload_url(mirror.tenant), publisher, local, "taken-over", "1.0.0")
    assert again.status_code == 400 and "File already exists" in again.text
