"""Read-through mirroring driven through its public API (``PackageIndex`` and ``MirrorService``).

The upstream is an in-process index with fixed pages and scripted faults; pages and files land in the in-memory
store and real filesystem blobs. Time is moved by hand to cross the page TTL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_application.blob_keys import metadata_key_for
from pyregistry_application.dto import AuditQuery
from pyregistry_application.index import FileDownload, PackageIndex
from pyregistry_application.mirror_ports import UpstreamFile
from pyregistry_application.mirroring import ChecksumMismatch, MirrorOptions, MirrorProjectStatus
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import NotFound, UpstreamUnavailable
from tests.support.background import mirror_service
from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.memory_upstream import FILES_URL, MemoryUpstream
from tests.unit.application.test_admin_use_cases import SteppingClock
from tests.unit.application.test_application_without_web import App
from tests.unit.application.test_mirror_refresh_status import _wait_idle

WHEEL_10, WHEEL_11, SDIST_11, WHEEL_20 = (
    "tool-1.0-py3-none-any.whl",
    "tool-1.1-py3-none-any.whl",
    "tool-1.1.tar.gz",
    "tool-2.0-py3-none-any.whl",
)
TTL = 3600


class Mirror:
    """Tenant ``corp`` mirrors, ``plain`` does not; upstream serves ``Tool`` 1.0, 1.1 (wheel and sdist) and 2.0."""

    def __init__(self, root: Path, eager_percent: int = 10) -> None:
        self.clock = SteppingClock()
        self.app = App(root, self.clock)
        for slug, mirroring in (("corp", True), ("plain", False)):
            self.app.tenants.create_tenant(
                slug=slug,
                display_name=slug,
                admin_email=None,
                admin_password=None,
                mirroring_enabled=mirroring,
                actor="t",
            )
        self.upstream = MemoryUpstream()
        self.spool = root / "mirror-spool"
        options = MirrorOptions(
            download_concurrency=2, eager_download_percent=eager_percent, max_attempts=3, metadata_ttl_seconds=TTL
        )
        store = self.app.store
        self.service = mirror_service(
            store, self.app.storage, self.upstream, self.clock, self.app.audit, self.spool, options
        )
        self.index = PackageIndex(store.catalogue, self.app.storage, self.app.access, self.service)
        self.reader = self.app.tokens.issue(tenant_slug="corp", name="pip", scopes=["read"], actor="t").secret
        out = root / "upstream"
        self.dists = {
            WHEEL_10: build_wheel(out, "Tool", "1.0"),
            WHEEL_11: build_wheel(out, "Tool", "1.1"),
            SDIST_11: build_sdist(out, "Tool", "1.1"),
            WHEEL_20: build_wheel(out, "Tool", "2.0"),
        }
        self.serve()

    def serve(self, *, yanked: dict[str, str] | None = None, extra: list[UpstreamFile] | None = None) -> None:
        odd = [
            UpstreamFile(filename="README.txt", url=FILES_URL + "README.txt", sha256="0" * 64),
            UpstreamFile(filename="other-1.0-py3-none-any.whl", url=FILES_URL + "other.whl", sha256="0" * 64),
        ]
        self.upstream.serve("Tool", list(self.dists.values()), yanked=yanked, extra=odd + (extra or []))

    @property
    def corp(self) -> str:
        tenant = self.app.store.tenants.get_tenant_by_slug("corp")
        assert tenant is not None
        return tenant.id

    def file(self, filename: str) -> ReleaseFile:
        found = self.app.store.catalogue.get_file(self.corp, filename)
        assert found is not None
        return found

    def cached(self) -> set[str]:
        return {f.filename for f in self.app.store.catalogue.list_files(self.corp, "tool") if f.cached}

    def spooled(self) -> list[Path]:
        return list(self.spool.iterdir()) if self.spool.exists() else []


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    world = Mirror(tmp_path)
    yield world
    world.upstream.gate.set()
    world.service.close()


def test_first_page_view_records_the_upstream_page_and_caches_the_newest_version(mirror: Mirror) -> None:
    page = mirror.index.project_page("corp", mirror.reader, "TOOL")
    assert (page.project.name, page.project.origin, page.project.mirrored_at) == ("Tool", "mirror", mirror.clock.now())
    assert [f.filename for f in page.files] == [WHEEL_10, WHEEL_11, SDIST_11, WHEEL_20], "foreign and bad names skipped"
    assert page.versions == ["1.0", "1.1", "2.0"]
    assert all(f.sha256 == sha256_of(mirror.dists[f.filename]) for f in page.files), "digests are lowercased"
    assert [f.requires_python for f in page.files] == [">=3.8"] * 4
    mirror.service.wait_idle(10)
    assert mirror.cached() == {WHEEL_20}
    newest = mirror.file(WHEEL_20)
    assert mirror.app.storage.read_bytes(newest.blob_key) == mirror.dists[WHEEL_20].read_bytes()
    assert newest.size == mirror.dists[WHEEL_20].stat().st_size
    status = mirror.service.status("corp")
    assert status.project("tool") == MirrorProjectStatus("Tool", mirror.clock.now(), 4, 1)
    assert status.pending_downloads == 0 and not status.refreshing
    assert mirror.spooled() == []
    with pytest.raises(NotFound, match="tenant 'nobody' does not exist"):
        mirror.service.status("nobody")


def test_a_recorded_page_is_served_until_the_ttl_then_refreshed_with_yank_state(mirror: Mirror) -> None:
    mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.serve(yanked={WHEEL_10: "broken build", SDIST_11: ""})
    mirror.clock.advance(TTL - 1)
    mirror.index.project_page("corp", mirror.reader, "tool")
    assert mirror.upstream.requests["tool"] == 1
    assert not any(r.yanked for r in mirror.app.store.catalogue.list_releases(mirror.corp, "tool"))
    mirror.clock.advance(1)
    page = mirror.index.project_page("corp", mirror.reader, "tool")
    assert mirror.upstream.requests["tool"] == 2
    assert page.project.mirrored_at == mirror.clock.now()
    releases = {
        r.version: (r.yanked, r.yanked_reason) for r in mirror.app.store.catalogue.list_releases(mirror.corp, "tool")
    }
    assert releases == {"1.0": (True, "broken build"), "1.1": (False, None), "2.0": (False, None)}
    yanked_files = {f.filename: f.yanked_reason for f in page.files if f.yanked}
    assert yanked_files == {WHEEL_10: "broken build"}, "files follow their release: 1.1 still has a wheel"


def test_an_unreachable_upstream_serves_the_stale_page_but_never_invents_one(
    mirror: Mirror, caplog: pytest.LogCaptureFixture
) -> None:
    first = mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.clock.advance(TTL + 1)
    mirror.upstream.fail("tool", "down")
    with caplog.at_level(logging.WARNING):
        stale = mirror.index.project_page("corp", mirror.reader, "tool")
    assert [f.filename for f in stale.files] == [f.filename for f in first.files]
    assert stale.project.mirrored_at == first.project.mirrored_at
    assert any(r.getMessage().startswith("mirror.stale tenant=corp project=tool") for r in caplog.records)

    with pytest.raises(NotFound, match="upstream has no project 'nothing'"):
        mirror.index.project_page("corp", mirror.reader, "nothing")
    mirror.upstream.serve("fresh", [])
    mirror.upstream.fail("fresh", "down")
    with pytest.raises(UpstreamUnavailable, match="503"):
        mirror.index.project_page("corp", mirror.reader, "fresh")
    assert mirror.app.store.catalogue.get_project(mirror.corp, "fresh") is None

    plain = mirror.app.tokens.issue(tenant_slug="plain", name="pip", scopes=["read"], actor="t").secret
    with pytest.raises(NotFound, match="does not exist in tenant 'plain'"):
        mirror.index.project_page("plain", plain, "tool")
    assert mirror.upstream.requests["tool"] == 2


def test_a_first_download_is_verified_and_stored_before_it_is_served(mirror: Mirror) -> None:
    mirror.index.project_page("corp", mirror.reader, "tool")
    expected = mirror.dists[WHEEL_10].read_bytes()
    first = mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0")
    assert WHEEL_10 in mirror.cached()
    assert first.file.cached and first.file.size == len(expected)
    assert first.local_path is not None and first.local_path.read_bytes() == expected
    assert first.content == expected, "a small file is read whole for the response"
    unread = mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0", read_small=False)
    assert (unread.content, unread.local_path) == (None, first.local_path)
    assert mirror.index.presigned_url(first.file, 60) is None, "filesystem storage signs no URLs"
    again = mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0")
    assert again.local_path is not None
    assert again.local_path.read_bytes() == expected
    assert mirror.upstream.requests[FILES_URL + WHEEL_10] == 1
    mirror.service.wait_idle(10)
    assert mirror.spooled() == []


def test_a_local_upload_during_a_first_download_is_what_gets_served(mirror: Mirror, tmp_path: Path) -> None:
    mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.service.wait_idle(10)
    mirror.upstream.gate.clear()
    served: list[FileDownload] = []
    download = threading.Thread(
        target=lambda: served.append(mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0"))
    )
    download.start()
    local = build_wheel(tmp_path / "local", "Tool", "1.0", summary="our own build")
    assert local.name == WHEEL_10
    publisher = mirror.app.tokens.issue(tenant_slug="corp", name="ci", scopes=["publish"], actor="t").secret
    mirror.app.upload("corp", publisher, local, "Tool", "1.0")
    mirror.upstream.gate.set()
    download.join(10)
    [result] = served
    assert (result.file.origin, result.file.sha256) == ("local", sha256_of(local))
    assert result.local_path is not None and result.local_path.read_bytes() == local.read_bytes()
    assert not list((tmp_path / "blobs").rglob(f"mirror/{WHEEL_10}")), "the upstream copy is not kept"


def test_core_metadata_is_fetched_once_verified_and_cached(mirror: Mirror) -> None:
    mirror.index.project_page("corp", mirror.reader, "tool")
    url = FILES_URL + WHEEL_11 + ".metadata"
    mirror.upstream.fail(url, "corrupt")
    with pytest.raises(ChecksumMismatch, match="core metadata"):
        mirror.index.core_metadata("corp", mirror.reader, "tool", WHEEL_11, version="1.1")
    assert mirror.app.storage.stat(metadata_key_for(mirror.file(WHEEL_11).blob_key)) is None
    for _ in range(2):
        metadata = mirror.index.core_metadata("corp", mirror.reader, "tool", WHEEL_11, version="1.1")
        assert metadata.startswith(b"Metadata-Version: 2.1\nName: Tool\nVersion: 1.1\n")
    assert mirror.upstream.requests[url] == 2
    with pytest.raises(NotFound, match="has no separate core metadata"):
        mirror.index.core_metadata("corp", mirror.reader, "tool", SDIST_11, version="1.1")


def test_corrupt_or_failed_downloads_store_nothing(mirror: Mirror) -> None:
    mirror.serve(extra=[UpstreamFile(filename="tool-0.9-py3-none-any.whl", url="", sha256="0" * 64)])
    mirror.index.project_page("corp", mirror.reader, "tool")
    url = FILES_URL + WHEEL_10
    mirror.upstream.fail(url, "corrupt")
    with pytest.raises(ChecksumMismatch, match="do not match the recorded sha256"):
        mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0")
    assert mirror.app.storage.stat(mirror.file(WHEEL_10).blob_key) is None, "bad bytes are never stored"
    mirror.upstream.fail(url, "down", "truncate", "down")
    with pytest.raises(UpstreamUnavailable):
        mirror.index.download("corp", mirror.reader, "tool", WHEEL_10, version="1.0")
    assert mirror.upstream.requests[url] == 4, "a first download is retried up to max_attempts (3)"
    with pytest.raises(NotFound, match="has no upstream location"):
        mirror.index.download("corp", mirror.reader, "tool", "tool-0.9-py3-none-any.whl", version="0.9")
    mirror.service.wait_idle(10)
    assert mirror.cached() == {WHEEL_20}
    assert mirror.app.storage.stat(mirror.file(WHEEL_10).blob_key) is None
    assert mirror.spooled() == []


def test_refresh_retries_broken_transfers_but_not_bad_bytes_and_reports_each_failure(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path, eager_percent=50)
    mirror.upstream.fail(FILES_URL + WHEEL_20, "truncate")
    mirror.upstream.fail(FILES_URL + WHEEL_11, "truncate", "truncate", "truncate")
    mirror.upstream.fail(FILES_URL + SDIST_11, "corrupt")
    planned: list[int] = []
    done: list[str] = []
    report = mirror.service.refresh(
        "corp", "Tool", actor="boss@corp.test", on_files=planned.append, on_file_done=lambda f: done.append(f.filename)
    )
    mirror.service.close()
    assert (report.tenant_slug, report.projects, report.files_cached) == ("corp", ["tool"], 1)
    assert sorted(report.errors) == [
        f"{WHEEL_11}: the upstream connection was reset mid-download",
        f"{SDIST_11}: upstream bytes of '{SDIST_11}' do not match the recorded sha256",
    ]
    assert planned == [3] and sorted(done) == [WHEEL_11, SDIST_11, WHEEL_20]
    requests = mirror.upstream.requests
    assert [requests[FILES_URL + name] for name in (WHEEL_20, WHEEL_11, SDIST_11, WHEEL_10)] == [2, 3, 1, 0]
    assert mirror.cached() == {WHEEL_20} and mirror.spooled() == []
    assert mirror.upstream.closed

    status = mirror.service.status("corp")
    assert status.last_error == report.errors[-1]
    assert status.last_run is not None
    assert (status.last_run.project, status.last_run.files_cached, status.last_run.error_count) == ("tool", 1, 2)
    [event] = mirror.app.audit.query(AuditQuery(action="mirror.refresh")).items
    assert (event.actor, event.target, event.details) == (
        "boss@corp.test",
        "corp/Tool",
        {"projects": "1", "files_cached": "1", "errors": "2"},
    )


def test_refreshing_a_project_upstream_does_not_have_is_an_error_not_a_crash(mirror: Mirror) -> None:
    report = mirror.service.refresh("corp", "nothing", actor="boss@corp.test")
    assert (report.projects, report.files_cached, report.errors) == (
        ["nothing"],
        0,
        ["nothing: upstream has no project 'nothing'"],
    )
    assert mirror.app.store.catalogue.get_project(mirror.corp, "nothing") is None


def test_refresh_all_covers_every_mirroring_tenant_with_mirrored_projects(mirror: Mirror) -> None:
    mirror.app.tenants.create_tenant(
        slug="idle", display_name="idle", admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
    )
    assert mirror.service.refresh_all() == []
    mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.service.wait_idle(10)
    [report] = mirror.service.refresh_all()
    assert (report.tenant_slug, report.projects, report.errors) == ("corp", ["tool"], [])
    assert mirror.upstream.requests["tool"] == 2
    assert mirror.service.status("corp").last_run is not None


def test_a_file_queued_by_a_page_view_and_a_refresh_is_downloaded_once(mirror: Mirror) -> None:
    mirror.upstream.gate.clear()
    mirror.index.project_page("corp", mirror.reader, "tool")
    assert mirror.service.status("corp").pending_downloads == 1

    def release_later(_: int) -> None:
        threading.Timer(0.2, mirror.upstream.gate.set).start()

    report = mirror.service.refresh("corp", actor="boss@corp.test", on_files=release_later)
    assert (report.projects, report.files_cached, report.errors) == (["tool"], 1, [])
    assert mirror.upstream.requests[FILES_URL + WHEEL_20] == 1
    assert mirror.cached() == {WHEEL_20}


def test_a_crashing_background_refresh_becomes_the_last_error(mirror: Mirror, caplog: pytest.LogCaptureFixture) -> None:
    mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.upstream.fail("tool", "crash")
    with caplog.at_level(logging.ERROR):
        assert mirror.service.refresh_in_background("corp", actor="boss@corp.test")
        status = _wait_idle(mirror.service, "corp")
    assert status.last_error == "adapter bug while reading tool"
    assert any(r.getMessage() == "mirror.refresh_failed tenant=corp project=None" for r in caplog.records)
    assert mirror.service.refresh_in_background("corp", actor="boss@corp.test"), "a crash does not leave it running"
    assert _wait_idle(mirror.service, "corp").last_error is None
