"""Catalogue writes in portable SQL: each one transaction that takes the serial counter first; an upload's jobs
(``PendingJob``) are inserted into the job table inside its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyregistry_application.background_ports import PendingJob
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.durable_jobs.job_table import DEFAULT_MAX_ATTEMPTS, SqlJobTable
from pyregistry_infrastructure.metadata_stores.rows import (
    INSERT_FILE_SQL,
    dump_time,
    file_from_row,
    file_params,
    project_from_row,
)
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, SqlDatabase
from pyregistry_infrastructure.metadata_stores.sql_catalogue_reads import FILE_SELECT

__all__ = ["SqlCatalogueWriter"]

_PROJECT_COLUMNS = ("tenant_id", "normalized_name", "name", "summary", "origin", "serial", "created_at", "mirrored_at")
_PROJECT_UPDATES = {
    "name": "{new}.name",
    "summary": "COALESCE({new}.summary, {old}.summary)",
    "origin": "{new}.origin",
    "serial": "{new}.serial",
    "mirrored_at": "COALESCE({new}.mirrored_at, {old}.mirrored_at)",
}
_RELEASE_COLUMNS = ("tenant_id", "normalized_name", "version", "created_at", "yanked", "yanked_reason")


class SqlCatalogueWriter:
    """Implements ``CatalogueWriter`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._jobs = SqlJobTable(db)

    def add_release_file(
        self, project: Project, release: Release, file: ReleaseFile, jobs: Sequence[PendingJob] = ()
    ) -> list[ReleaseFile]:
        try:
            with self._db.write() as conn:
                serial = self._db.next_serial(conn)
                for job in jobs:
                    self._jobs.enqueue_in(conn, job, job.max_attempts or DEFAULT_MAX_ATTEMPTS)
                found = conn.query(
                    "SELECT * FROM projects WHERE tenant_id = ? AND normalized_name = ?",
                    (project.tenant_id, project.normalized_name),
                )
                stored = project_from_row(found[0]) if found else None
                removed = self._drop_taken_over(conn, project, stored)
                conn.execute(
                    self._db.dialect.upsert(
                        "projects", _PROJECT_COLUMNS, ("tenant_id", "normalized_name"), _PROJECT_UPDATES
                    ),
                    (
                        project.tenant_id,
                        project.normalized_name,
                        project.name,
                        project.summary,
                        project.origin,
                        serial,
                        dump_time(project.created_at),
                        dump_time(project.mirrored_at),
                    ),
                )
                renamed = stored is None or (stored.name, stored.origin) != (project.name, project.origin)
                self._db.listing_changed(conn, project.tenant_id, serial, names=renamed)
                conn.execute(
                    self._db.dialect.insert_ignore(
                        "releases", _RELEASE_COLUMNS, ("tenant_id", "normalized_name", "version")
                    ),
                    (
                        release.tenant_id,
                        release.normalized_name,
                        release.version,
                        dump_time(release.created_at),
                        int(release.yanked),
                        release.yanked_reason,
                    ),
                )
                conn.execute(INSERT_FILE_SQL, file_params(file))
        except self._db.dialect.integrity_errors as exc:
            if self._db.dialect.is_unique_violation(exc):
                raise AlreadyExists(f"File already exists: {file.filename!r}") from None
            raise
        return removed

    def _drop_taken_over(self, conn: SqlConnection, incoming: Project, stored: Project | None) -> list[ReleaseFile]:
        """Remove the ``stored`` project when the incoming one takes it over (the domain decides), with its
        releases and files (by cascade); return those files."""
        if stored is None or not stored.is_taken_over_by(incoming.origin):
            return []
        key = (incoming.tenant_id, incoming.normalized_name)
        rows = conn.query(FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", key)
        conn.execute("DELETE FROM projects WHERE tenant_id = ? AND normalized_name = ?", key)
        return [file_from_row(row) for row in rows]

    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool:
        with self._db.write() as conn:
            self._db.next_serial(conn)
            cursor = conn.execute(
                """UPDATE releases SET yanked = ?, yanked_reason = ?
                WHERE tenant_id = ? AND normalized_name = ? AND version = ?""",
                (int(yanked), reason if yanked else None, tenant_id, normalized_name, version),
            )
            if cursor.rowcount == 0:
                return False
            self._db.bump(conn, tenant_id, normalized_name)
            return True

    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._db.write() as conn:
            self._db.next_serial(conn)
            rows = conn.query(FILE_SELECT + " WHERE f.tenant_id = ? AND f.filename = ?", (tenant_id, filename))
            if not rows:
                return None
            file = file_from_row(rows[0])
            conn.execute("DELETE FROM release_files WHERE tenant_id = ? AND filename = ?", (tenant_id, filename))
            self._db.bump(conn, tenant_id, file.normalized_name)
        return file

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        with self._db.write() as conn:
            self._db.next_serial(conn)
            rows = conn.query(
                FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ? AND f.version = ?",
                (tenant_id, normalized_name, version),
            )
            conn.execute(
                "DELETE FROM releases WHERE tenant_id = ? AND normalized_name = ? AND version = ?",
                (tenant_id, normalized_name, version),
            )
            self._db.bump(conn, tenant_id, normalized_name)
        return [file_from_row(row) for row in rows]

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._db.write() as conn:
            serial = self._db.next_serial(conn)
            rows = conn.query(
                FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", (tenant_id, normalized_name)
            )
            existed = conn.query(
                "SELECT 1 FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
            )
            if existed:
                conn.execute(
                    "DELETE FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
                )
                self._db.listing_changed(conn, tenant_id, serial)
        return [file_from_row(row) for row in rows]

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        with self._db.write() as conn:
            self._db.next_serial(conn)
            conn.execute(
                "DELETE FROM project_statuses WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
            )
            if status != ACTIVE:
                conn.execute(
                    """INSERT INTO project_statuses (tenant_id, normalized_name, status, reason, changed_at)
                    VALUES (?, ?, ?, ?, ?)""",
                    (tenant_id, normalized_name, status.kind.value, status.reason, dump_time(when)),
                )
            self._db.bump(conn, tenant_id, normalized_name)
