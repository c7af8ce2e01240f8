"""The orphan-blob sweep on SQLite + filesystem storage wired as the server wires them; time is moved by a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyregistry_application.blob_sweep import OrphanBlobSweeper
from pyregistry_application.dto import AuditQuery
from tests.support.attestations import gitlab_attested, needs_attestations
from tests.unit.application.test_purge_provenance import Registry


class LaterClock:
    """Now plus a fixed offset, so freshly written blobs look old."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def _sweeper(registry: Registry, offset: timedelta) -> OrphanBlobSweeper:
    services = registry.runtime.services
    return OrphanBlobSweeper(
        services.metadata.tenants, services.metadata.catalogue, services.storage, LaterClock(offset), services.audit
    )


@needs_attestations
def test_old_orphans_are_removed_and_everything_referenced_or_foreign_stays(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    storage = registry.runtime.services.storage
    kept = registry.upload_attested(gitlab_attested())
    tenant_id = kept.tenant_id
    orphan = f"{tenant_id}/gitlab-oidc-project/crashed/gitlab_oidc_project-0.9-py3-none-any.whl"
    storage.put_bytes(orphan, b"half a release")
    storage.put_bytes(orphan + ".metadata", b"Name: widget\n")
    foreign = ["backups/2026/11/dump.sql", f"{tenant_id}/notes.txt", "unknown-tenant/widget/x/widget-1.whl"]
    for key in foreign:
        storage.put_bytes(key, b"not ours")

    dry = _sweeper(registry, timedelta(hours=2)).sweep(timedelta(hours=1), dry_run=True, actor="test")
    assert {o.key for o in dry.orphans} == {orphan, orphan + ".metadata"}
    assert dry.removed == 0 and dry.referenced == len(registry.blobs_of(kept)) == 3
    assert storage.stat(orphan) is not None

    report = _sweeper(registry, timedelta(hours=2)).sweep(timedelta(hours=1), dry_run=False, actor="test")
    assert report.removed == 2 and report.removed_bytes == len(b"half a release") + len(b"Name: widget\n")
    assert storage.stat(orphan) is None and storage.stat(orphan + ".metadata") is None
    assert registry.blobs_of(kept) == {kept.blob_key, kept.blob_key + ".metadata", kept.blob_key + ".provenance"}
    assert all(storage.stat(key) is not None for key in foreign)
    events = registry.runtime.services.metadata.audit_log.list_audit_events(AuditQuery(action="storage.sweep")).items
    assert [(event.actor, event.details["removed"]) for event in events] == [("test", "2")]


def test_orphans_inside_the_grace_period_are_kept(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    storage = registry.runtime.services.storage
    kept = registry.upload_wheel("gadget", "1.0")
    orphan = f"{kept.tenant_id}/gadget/in-flight/gadget-2.0-py3-none-any.whl"
    storage.put_bytes(orphan, b"still uploading")

    report = _sweeper(registry, timedelta(0)).sweep(timedelta(hours=1), dry_run=False, actor="test")
    assert [o.key for o in report.orphans] == [orphan] and report.too_recent == 1 and report.removed == 0
    assert storage.stat(orphan) is not None
    audit_log = registry.runtime.services.metadata.audit_log
    assert audit_log.list_audit_events(AuditQuery(action="storage.sweep")).items == []
