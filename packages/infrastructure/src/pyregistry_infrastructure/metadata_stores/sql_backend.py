"""The SQL backends: every metadata port on one :class:`SqlDatabase` (SQLite, PostgreSQL or SQL Server)."""

from __future__ import annotations

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_infrastructure.durable_jobs.job_table import SqlJobTable
from pyregistry_infrastructure.metadata_stores.sql_archive import SqlMetadataArchive
from pyregistry_infrastructure.metadata_stores.sql_audit import SqlAuditLog
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sql_catalogue import SqlCatalogue
from pyregistry_infrastructure.metadata_stores.sql_index_versions import SqlIndexVersions
from pyregistry_infrastructure.metadata_stores.sql_mirror import SqlMirrorStore
from pyregistry_infrastructure.metadata_stores.sql_provenance import SqlProvenanceRecordStore
from pyregistry_infrastructure.metadata_stores.sql_publishers import SqlJtiReplayStore, SqlPublisherStore
from pyregistry_infrastructure.metadata_stores.sql_release_policy import SqlReleasePolicyStore
from pyregistry_infrastructure.metadata_stores.sql_scans import SqlScanResultStore
from pyregistry_infrastructure.metadata_stores.sql_sessions import SqlAdminSessionStore
from pyregistry_infrastructure.metadata_stores.sql_tenants import SqlTenantStore
from pyregistry_infrastructure.metadata_stores.sql_tokens import SqlTokenStore
from pyregistry_infrastructure.metadata_stores.sql_users import SqlUserStore

__all__ = ["sql_backend"]


def sql_backend(db: SqlDatabase) -> MetadataBackend:
    """Every metadata port on ``db`` (already migrated), sharing its connections; closing the backend closes it."""
    index_versions = SqlIndexVersions(db)
    tokens = SqlTokenStore(db)
    return MetadataBackend(
        name=db.dialect.name,
        tenants=SqlTenantStore(db),
        users=SqlUserStore(db),
        tokens=tokens,
        catalogue=SqlCatalogue(db),
        audit_log=SqlAuditLog(db),
        mirror=SqlMirrorStore(db),
        publishers=SqlPublisherStore(db),
        jti_replays=SqlJtiReplayStore(db),
        sessions=SqlAdminSessionStore(db),
        scans=SqlScanResultStore(db),
        release_policies=SqlReleasePolicyStore(db),
        provenance_records=SqlProvenanceRecordStore(db),
        index_versions=index_versions,
        awaited_stamps=db.awaited_stamp_reads(index_versions, tokens),
        job_queue=SqlJobTable(db),
        archive=SqlMetadataArchive(db),
        ping=db.ping,
        pool_stats=db.pool_counters(),
        close=db.close,
    )
