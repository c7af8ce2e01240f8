"""One backend's metadata ports handed over together, built once by bootstrap from one factory per backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyregistry_application.backup_ports import MetadataArchive
from pyregistry_application.index_versions import AwaitedStampReads, IndexVersions
from pyregistry_application.job_monitor_ports import JobQueue
from pyregistry_application.metadata_ports import AuditLog, Catalogue, TenantStore, TokenStore, UserStore
from pyregistry_application.mirror_ports import MirrorStore
from pyregistry_application.provenance_ports import ProvenanceRecordStore
from pyregistry_application.publishing_ports import JtiReplayStore, PublisherStore
from pyregistry_application.release_policy_ports import ReleasePolicyStore
from pyregistry_application.scan_ports import ScanResultStore
from pyregistry_application.session_ports import AdminSessionStore

__all__ = ["MetadataBackend"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataBackend:
    """Every metadata port of one backend, sharing one state (memory) or one connection source (SQL).

    ``job_queue`` is ``None`` when the backend cannot hold durable jobs (memory), ``archive`` when it keeps nothing
    worth backing up, ``ping`` when there is nothing to probe
    for readiness, ``pool_stats`` when there is no connection pool to watch. ``awaited_stamps`` is
    ``index_versions.stamp_inputs`` (and the token's use) for the event loop. ``close`` releases the connections.
    """

    name: str
    tenants: TenantStore
    users: UserStore
    tokens: TokenStore
    catalogue: Catalogue
    audit_log: AuditLog
    mirror: MirrorStore
    publishers: PublisherStore
    jti_replays: JtiReplayStore
    sessions: AdminSessionStore
    scans: ScanResultStore
    release_policies: ReleasePolicyStore
    provenance_records: ProvenanceRecordStore
    index_versions: IndexVersions
    awaited_stamps: AwaitedStampReads
    job_queue: JobQueue | None
    archive: MetadataArchive | None
    ping: Callable[[], None] | None
    pool_stats: Callable[[], dict[str, int]] | None
    close: Callable[[], None]
