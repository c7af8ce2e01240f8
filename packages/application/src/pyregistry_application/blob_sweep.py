"""Find and remove stored blobs that no file record refers to (left by a crash between storing and recording)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.blob_records import referenced_keys, registry_keys
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.ports import ArtifactStorage, Clock

__all__ = ["BlobSweepReport", "OrphanBlob", "OrphanBlobSweeper"]


class OrphanBlob(msgspec.Struct, frozen=True):
    """A stored blob that no file record refers to."""

    key: str
    size: int
    age_seconds: int | None


class BlobSweepReport(msgspec.Struct, frozen=True):
    """What a sweep saw: every blob it examined, the orphans, and which of them it removed."""

    examined: int
    referenced: int
    orphans: list[OrphanBlob]
    too_recent: int
    removed: int
    removed_bytes: int
    dry_run: bool


class OrphanBlobSweeper:
    """Compares storage with the metadata store and removes blobs older than a grace period that nothing uses.

    Only keys shaped like the registry's own (``<tenant id>/<project>/<unique>/<file>``, under a tenant that exists)
    are considered, so other objects sharing the bucket or directory are never touched. The grace period protects
    uploads and mirror downloads in flight: they store a blob before recording it. Blobs of unknown age are kept.
    """

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        storage: ArtifactStorage,
        clock: Clock,
        audit: AuditTrail,
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._storage = storage
        self._clock = clock
        self._audit = audit

    def _orphans(self, keys: list[str], referenced: set[str]) -> Iterator[OrphanBlob]:
        now = self._clock.now()
        for key in keys:
            if key in referenced:
                continue
            info = self._storage.stat(key)
            if info is None:
                continue
            age = None if info.last_modified is None else int((now - info.last_modified).total_seconds())
            yield OrphanBlob(key=key, size=info.size, age_seconds=age)

    def sweep(self, grace: timedelta, *, dry_run: bool, actor: str) -> BlobSweepReport:
        """Remove (or with ``dry_run`` only list) orphaned blobs older than ``grace``."""
        tenant_ids = [tenant.id for tenant in self._tenants.list_tenants()]
        referenced = referenced_keys(self._catalogue, tenant_ids)
        listed = registry_keys(self._storage, tenant_ids)
        orphans = list(self._orphans(listed, referenced))
        old_enough = [
            orphan
            for orphan in orphans
            if orphan.age_seconds is not None and orphan.age_seconds >= grace.total_seconds()
        ]
        if not dry_run:
            for orphan in old_enough:
                self._storage.delete(orphan.key)
            if old_enough:
                self._audit.record(
                    actor=actor,
                    action="storage.sweep",
                    target="orphaned blobs",
                    details={
                        "removed": str(len(old_enough)),
                        "bytes": str(sum(orphan.size for orphan in old_enough)),
                    },
                )
        return BlobSweepReport(
            examined=len(listed),
            referenced=sum(1 for key in listed if key in referenced),
            orphans=orphans,
            too_recent=len(orphans) - len(old_enough),
            removed=0 if dry_run else len(old_enough),
            removed_bytes=0 if dry_run else sum(orphan.size for orphan in old_enough),
            dry_run=dry_run,
        )
