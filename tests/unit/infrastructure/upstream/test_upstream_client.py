"""The upstream HTTP client's rules against a real misbehaving server: deadlines, progress, retries, caps."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from pyregistry_application.audit import AuditTrail
from pyregistry_application.mirroring import MirrorOptions
from pyregistry_application.tenants import TenantAdministration
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from pyregistry_infrastructure.upstream.locations import LOCATION_REFUSED, LocationRefused
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex
from tests.support.background import mirror_service
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import free_port

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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_408_on_a_page_is_retried(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "timeout-page", page_faults=[408, 408])
    page = _client(upstream.url).fetch_project("timeout-page")
    assert [file.filename for file in page.files] == [project.wheel.name]
    assert upstream.hits["/simple/timeout-page/"] == 3


@pytest.mark.slow
def test_connection_refused_is_retried_until_the_upstream_listens(tmp_path: Path) -> None:
    port = free_port()
    client = _client(f"http://127.0.0.1:{port}/simple/", backoff=400)
    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        _client(f"http://127.0.0.1:{port}/simple/", max_attempts=2).fetch_project("late")
    started: list[FaultyUpstream] = []
    opener = threading.Timer(0.1, lambda: started.append(FaultyUpstream(port=port)))
    opener.start()
    try:
        wheel = build_wheel(tmp_path, "late", "1.0.0")
        opener.join()
        started[0].add("late", FaultyProject(wheel=wheel))
        assert [file.filename for file in client.fetch_project("late").files] == [wheel.name]
        assert started[0].hits["/simple/late/"] == 1, "the first attempt was refused, the retry answered"
    finally:
        opener.join()
        for server in started:
            server.stop()


@pytest.mark.slow
def test_429_on_a_file_honours_retry_after(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "limited-file", file_faults=["429"])
    started = time.monotonic()
    assert _download(_client(upstream.url), _file_url(upstream, "limited-file", project)) == project.wheel.read_bytes()
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was not honoured"
    assert upstream.hits[f"/files/limited-file/{project.wheel.name}"] == 2


@pytest.mark.slow
def test_a_hanging_file_download_times_out_and_is_retried(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "hanging-file", file_faults=["hang"])
    started = time.monotonic()
    assert _download(_client(upstream.url), _file_url(upstream, "hanging-file", project)) == project.wheel.read_bytes()
    elapsed = time.monotonic() - started
    assert TIMEOUT_SECONDS <= elapsed < upstream.hang_seconds, f"the read timeout was not applied ({elapsed:.1f}s)"
    assert upstream.hits[f"/files/hanging-file/{project.wheel.name}"] == 2


def test_an_oversized_chunked_file_is_refused_while_streaming(upstream: FaultyUpstream, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "chunked-file", "1.0.0", extra_files={"chunked_file/blob.bin": os.urandom(60_000)})
    project = FaultyProject(wheel=wheel, file_faults=["chunked"])
    upstream.add("chunked-file", project)
    client = _client(upstream.url, artifact_max_bytes=30_000)
    with client.open_file(_file_url(upstream, "chunked-file", project)) as stream:
        assert stream.size is None, "a chunked body announces no length"
        with pytest.raises(UpstreamUnavailable, match="exceeds the 30000-byte limit"):
            b"".join(stream.chunks)


@pytest.mark.slow
def test_downloads_never_exceed_the_concurrency_cap(tmp_path: Path) -> None:
    upstream = FaultyUpstream()  # its own server: a hanging handler of another test would count as a download
    wheels = [build_wheel(tmp_path, "busy", f"1.0.{patch}") for patch in range(6)]
    upstream.add("busy", FaultyProject(wheel=wheels[0], more_wheels=wheels[1:], file_seconds=0.3))
    store = memory_backend()
    clock = SystemClock()
    audit = AuditTrail(store.audit_log, clock, RandomIds())
    TenantAdministration(
        store.tenants, store.users, clock, RandomIds(), ScryptPasswordHasher(n=2**10), audit
    ).create_tenant(
        slug="corp", display_name="Corp", admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
    )
    options = MirrorOptions(download_concurrency=2, eager_download_percent=100, max_attempts=1)
    storage = OpenDalStorage.filesystem(tmp_path / "blobs")
    mirror = mirror_service(store, storage, _client(upstream.url), clock, audit, tmp_path / "spool", options)
    try:
        report = mirror.refresh("corp", "busy", actor="t")
    finally:
        mirror.close()
        upstream.stop()
    assert (report.files_cached, report.errors) == (6, [])
    assert upstream.most_concurrent_files == 2


@pytest.mark.slow
def test_redirects_are_followed_within_the_origin_only(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "moved-file", redirect_files_to=f"{upstream.origin}/moved")
    url = _file_url(upstream, "moved-file", project)
    assert _download(_client(upstream.url), url) == project.wheel.read_bytes()
    assert upstream.hits[f"/files/moved-file/{project.wheel.name}"] == 1
    assert upstream.hits[f"/moved/files/moved-file/{project.wheel.name}"] == 1
    elsewhere = FaultyUpstream()
    try:
        project.redirect_files_to = elsewhere.origin
        with structlog.testing.capture_logs() as logs, pytest.raises(LocationRefused, match=f"^{LOCATION_REFUSED}$"):
            _download(_client(upstream.url), url)
    finally:
        elsewhere.stop()
    assert elsewhere.hits == {}
    assert [(log["event"], log["url"]) for log in logs] == [
        ("mirror.upstream_location_refused", f"{elsewhere.origin}/files/moved-file/{project.wheel.name}")
    ]


def test_endless_same_origin_redirects_end_with_a_502(upstream: FaultyUpstream, tmp_path: Path) -> None:
    project = _project(upstream, tmp_path, "loop-file", redirect_files_to=upstream.origin)
    with pytest.raises(UpstreamUnavailable, match=r"^upstream redirected more than 5 times$"):
        _download(_client(upstream.url), _file_url(upstream, "loop-file", project))
    assert upstream.hits[f"/files/loop-file/{project.wheel.name}"] == 6


def test_a_url_httpx_cannot_send_is_a_refused_location(upstream: FaultyUpstream) -> None:
    client = _client(upstream.url)
    for url in (f"{upstream.origin}/files/a\x00b.whl", f"{upstream.origin}/files/a\x7fb.whl"):
        with structlog.testing.capture_logs() as logs, pytest.raises(LocationRefused, match=f"^{LOCATION_REFUSED}$"):
            _download(client, url)
        assert [(log["event"], log["reason"]) for log in logs] == [
            (
                "mirror.upstream_location_refused",
                f"Invalid non-printable ASCII character in URL, {url[-6]!r} at position {len(url) - 6}.",
            )
        ]
