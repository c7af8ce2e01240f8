"""The memory backend: every metadata port over one shared :class:`MemoryState`, for throwaway runs and tests."""

from __future__ import annotations

from pyregistry_application.index_versions import InlineStampReads, StoreIndexVersions
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_infrastructure.metadata_stores.memory_audit import MemoryAuditLog
from pyregistry_infrastructure.metadata_stores.memory_catalogue import MemoryCatalogue
from pyregistry_infrastructure.metadata_stores.memory_mirror import MemoryMirrorStore
from pyregistry_infrastructure.metadata_stores.memory_provenance import MemoryProvenanceRecordStore
from pyregistry_infrastructure.metadata_stores.memory_publishers import MemoryJtiReplayStore, MemoryPublisherStore
from pyregistry_infrastructure.metadata_stores.memory_release_policy import MemoryReleasePolicyStore
from pyregistry_infrastructure.metadata_stores.memory_scans import MemoryScanResultStore
from pyregistry_infrastructure.metadata_stores.memory_sessions import MemoryAdminSessionStore
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState
from pyregistry_infrastructure.metadata_stores.memory_tenants import MemoryTenantStore
from pyregistry_infrastructure.metadata_stores.memory_tokens import MemoryTokenStore
from pyregistry_infrastructure.metadata_stores.memory_users import MemoryUserStore

__all__ = ["memory_backend"]


def memory_backend(state: MemoryState | None = None) -> MetadataBackend:
    """A memory backend over ``state`` (fresh and empty by default); it keeps nothing worth backing up and has
    nothing to probe or close."""
    state = state or MemoryState()
    catalogue = MemoryCatalogue(state)
    tenants = MemoryTenantStore(state)
    tokens = MemoryTokenStore(state)
    versions = StoreIndexVersions(tenants, tokens, catalogue)
    return MetadataBackend(
        name="memory",
        tenants=tenants,
        users=MemoryUserStore(state),
        tokens=tokens,
        catalogue=catalogue,
        audit_log=MemoryAuditLog(state),
        mirror=MemoryMirrorStore(state),
        publishers=MemoryPublisherStore(),
        jti_replays=MemoryJtiReplayStore(),
        sessions=MemoryAdminSessionStore(),
        scans=MemoryScanResultStore(),
        release_policies=MemoryReleasePolicyStore(),
        provenance_records=MemoryProvenanceRecordStore(),
        index_versions=versions,
        awaited_stamps=InlineStampReads(versions, tokens),
        job_queue=None,
        archive=None,
        ping=None,
        pool_stats=None,
        close=_nothing_to_close,
    )


def _nothing_to_close() -> None:
    """The memory backend holds no connection."""
