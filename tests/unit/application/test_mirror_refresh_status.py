"""The mirror's admin-facing refresh: one background refresh per tenant, every request audited, status and last run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_ports import UpstreamProject, UpstreamStream
from pyregistry_application.mirroring import MirrorOptions, MirrorService, MirrorStatus
from pyregistry_application.tenants import TenantAdministration
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import NotFound, UpstreamUnavailable
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from tests.support.background import mirror_service


class GatedUpstream:
    """An upstream whose project pages wait for ``gate``; names in ``broken`` fail like an unreachable index."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.broken: set[str] = set()

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        assert self.gate.wait(10)
        if normalized_name in self.broken:
            raise UpstreamUnavailable(f"upstream refused {normalized_name}")
        return UpstreamProject(name=normalized_name, files=[])

    def fetch_bytes(self, url: str) -> bytes:
        raise UpstreamUnavailable("no files upstream")

    def open_file(self, url: str) -> AbstractContextManager[UpstreamStream]:
        raise UpstreamUnavailable("no files upstream")

    def close(self) -> None:
        return None


def _mirror(store: MetadataBackend, upstream: GatedUpstream, tmp_path: Path) -> MirrorService:
    clock = SystemClock()
    audit = AuditTrail(store.audit_log, clock, RandomIds())
    storage = OpenDalStorage.filesystem(tmp_path / "blobs")
    return mirror_service(store, storage, upstream, clock, audit, tmp_path / "spool", MirrorOptions())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MirrorService, GatedUpstream, MetadataBackend]]:
    store = memory_backend()
    clock = SystemClock()
    audit = AuditTrail(store.audit_log, clock, RandomIds())
    tenants = TenantAdministration(store.tenants, store.users, clock, RandomIds(), ScryptPasswordHasher(), audit)
    for slug, mirroring in (("corp", True), ("plain", False)):
        tenants.create_tenant(
            slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=mirroring, actor="t"
        )
    upstream = GatedUpstream()
    mirror = _mirror(store, upstream, tmp_path)
    upstream.gate.set()
    mirror.refresh_project(store.tenants.get_tenant_by_slug("corp"), "tool")  # type: ignore[arg-type]
    upstream.gate.clear()
    yield mirror, upstream, store
    upstream.gate.set()
    mirror.close()


def _wait_idle(mirror: MirrorService, slug: str) -> MirrorStatus:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = mirror.status(slug)
        if not status.refreshing:
            return status
        time.sleep(0.01)
    raise AssertionError("refresh did not finish")


def _requests(store: MetadataBackend) -> list[dict[str, str | None]]:
    events = store.audit_log.list_audit_events(AuditQuery(limit=50)).items
    wanted = sorted((e for e in events if e.action == "mirror.request_refresh"), key=lambda e: e.occurred_at)
    return [{"actor": e.actor, "target": e.target, "ip": e.source_ip, **e.details} for e in wanted]


def test_background_refresh_runs_once_per_tenant_and_reports_its_last_run(world) -> None:
    mirror, upstream, store = world
    assert mirror.status("corp").last_run is None
    assert mirror.refresh_in_background("corp", actor="boss@corp.test", source_ip="10.0.0.7") is True
    assert mirror.status("corp").refreshing
    assert mirror.refresh_in_background("corp", "tool", actor="other@corp.test") is False
    upstream.gate.set()
    status = _wait_idle(mirror, "corp")
    assert status.last_error is None
    assert status.last_run is not None
    assert (status.last_run.project, status.last_run.projects, status.last_run.files_cached) == (None, 1, 0)
    assert (status.last_run.error_count, status.last_run.errors) == (0, [])
    assert status.project("Tool") is not None and status.project("other") is None
    assert _requests(store) == [
        {"actor": "boss@corp.test", "target": "corp/*", "ip": "10.0.0.7", "started": "yes"},
        {"actor": "other@corp.test", "target": "corp/tool", "ip": None, "started": "no: a refresh is already running"},
    ]


def test_failed_project_refresh_is_the_last_error(world) -> None:
    mirror, upstream, _ = world
    upstream.broken.add("tool")
    upstream.gate.set()
    assert mirror.refresh_in_background("corp", "tool", actor="boss@corp.test")
    status = _wait_idle(mirror, "corp")
    assert status.last_run is not None and status.last_run.project == "tool"
    assert status.last_error == "tool: upstream refused tool"
    assert (status.last_run.error_count, status.last_run.errors) == (1, ["tool: upstream refused tool"])


def test_refresh_requests_need_a_mirroring_tenant_and_a_mirrored_project(world) -> None:
    mirror, _, store = world
    corp = store.tenants.get_tenant_by_slug("corp")
    assert corp is not None
    now = SystemClock().now()
    store.catalogue.add_release_file(
        Project(tenant_id=corp.id, name="local", normalized_name="local", created_at=now),
        Release(corp.id, "local", "1.0", now),
        ReleaseFile(
            tenant_id=corp.id,
            project_name="local",
            normalized_name="local",
            version="1.0",
            filename="local-1.0-py3-none-any.whl",
            kind=DistributionKind.WHEEL,
            sha256="0" * 64,
            size=1,
            blob_key="local/blob",
            uploaded_at=now,
            uploaded_by="test",
        ),
    )
    for tenant, project, message in (
        ("plain", None, "does not have mirroring enabled"),
        ("nobody", None, "does not exist"),
        ("corp", "local", "is not mirrored"),
        ("corp", "missing", "is not mirrored"),
    ):
        with pytest.raises(NotFound, match=message):
            mirror.refresh_in_background(tenant, project, actor="boss@corp.test")
    assert _requests(store) == []
    assert not mirror.status("corp").refreshing


def test_another_process_sees_the_last_run_in_the_audit_trail(world, tmp_path: Path) -> None:
    mirror, upstream, store = world
    other = _mirror(store, upstream, tmp_path / "other")
    assert other.status("corp").last_run is None
    upstream.broken.add("tool")
    upstream.gate.set()
    mirror.refresh("corp", "Tool", actor="boss@corp.test")
    ran = mirror.status("corp").last_run
    seen = other.status("corp").last_run
    assert ran is not None and seen is not None
    assert (seen.project, seen.projects, seen.files_cached, seen.error_count) == ("tool", 1, 0, 1)
    assert seen.finished_at == ran.finished_at and seen.errors == [] and ran.errors == ["tool: upstream refused tool"]
    other.close()
