"""In-memory provenance records, continuity releases and policies (tests and ``database_store = "memory"``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from pyregistry_application.provenance_ports import ContinuityRelease, FileProvenance

__all__ = ["MemoryProvenanceRecordStore"]


class MemoryProvenanceRecordStore:
    """Implements ``ProvenanceRecordStore`` with dicts guarded by a lock; this process only."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], FileProvenance] = {}
        self._releases: dict[tuple[str, str, str], ContinuityRelease] = {}
        self._policies: dict[str, bool] = {}
        self._lock = threading.Lock()

    def put_provenance(self, record: FileProvenance) -> None:
        with self._lock:
            self._records[(record.tenant_id, record.filename)] = record

    def project_provenance(self, tenant_id: str, normalized_name: str) -> Mapping[str, FileProvenance]:
        with self._lock:
            return {
                filename: record
                for (tenant, filename), record in self._records.items()
                if tenant == tenant_id and record.normalized_name == normalized_name
            }

    def add_continuity_release(self, release: ContinuityRelease) -> None:
        with self._lock:
            self._releases.setdefault((release.tenant_id, release.normalized_name, release.version), release)

    def continuity_releases(self, tenant_id: str, normalized_name: str) -> Mapping[str, ContinuityRelease]:
        with self._lock:
            return {
                version: release
                for (tenant, name, version), release in self._releases.items()
                if tenant == tenant_id and name == normalized_name
            }

    def set_continuity(self, tenant_id: str, enabled: bool | None) -> None:
        with self._lock:
            if enabled is None:
                self._policies.pop(tenant_id, None)
            else:
                self._policies[tenant_id] = enabled

    def continuity(self, tenant_id: str) -> bool | None:
        with self._lock:
            return self._policies.get(tenant_id)
