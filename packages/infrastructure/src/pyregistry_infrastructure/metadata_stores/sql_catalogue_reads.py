"""Catalogue reads (projects, releases, files, statuses, search, counts) in portable SQL."""

from __future__ import annotations

from pyregistry_application.dto import ListedProject, Page, RegistryStats
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_infrastructure.metadata_stores.rows import (
    file_from_row,
    file_reader,
    project_from_row,
    release_from_row,
)
from pyregistry_infrastructure.metadata_stores.search import rank_projects
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["FILE_SELECT", "RELEASE_FILE_COLUMNS", "SqlCatalogueReader"]

RELEASE_FILE_COLUMNS = (
    "tenant_id",
    "filename",
    "normalized_name",
    "version",
    "project_name",
    "kind",
    "sha256",
    "size",
    "blob_key",
    "uploaded_at",
    "uploaded_by",
    "requires_python",
    "metadata_sha256",
    "origin",
    "upstream_url",
    "cached",
    "has_provenance",
)
"""The ``release_files`` columns a :class:`ReleaseFile` is read from (with its release's ``yanked`` mark)."""
FILE_SELECT = (
    "SELECT "  # noqa: S608 (column names are constants of this module)
    + ", ".join(f"f.{column}" for column in RELEASE_FILE_COLUMNS)
    + ", r.yanked, r.yanked_reason FROM release_files f"
    " JOIN releases r ON r.tenant_id = f.tenant_id AND r.normalized_name = f.normalized_name AND r.version = f.version"
)
_LISTING = {"serial": "{new}.serial"}
_read_file = file_reader((*RELEASE_FILE_COLUMNS, "yanked", "yanked_reason"))
"""A file from a row of :data:`FILE_SELECT`."""


class SqlCatalogueReader:
    """Implements ``CatalogueReader`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None:
        row = self._db.row(
            "SELECT * FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
        )
        return project_from_row(row) if row else None

    def list_projects(self, tenant_id: str) -> list[Project]:
        rows = self._db.rows("SELECT * FROM projects WHERE tenant_id = ? ORDER BY normalized_name", (tenant_id,))
        return [project_from_row(row) for row in rows]

    def listed_projects(self, tenant_id: str, *, with_mirrored: bool) -> list[ListedProject]:
        sql = "SELECT name, normalized_name FROM projects WHERE tenant_id = ?"
        params: tuple[str, ...] = (tenant_id,)
        if not with_mirrored:
            sql, params = sql + " AND origin = ?", (tenant_id, ProjectOrigin.LOCAL.value)
        return [ListedProject(name, normalized) for name, normalized in self._db.tuples(sql, params)]

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        rows = self._db.rows(
            "SELECT * FROM releases WHERE tenant_id = ? AND normalized_name = ? ORDER BY created_at, version",
            (tenant_id, normalized_name),
        )
        return [release_from_row(row) for row in rows]

    def release_versions(self, tenant_id: str, normalized_name: str) -> list[str]:
        rows = self._db.tuples(
            "SELECT version FROM releases WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
        )
        return [version for (version,) in rows]

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        rows = self._db.tuples(
            FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", (tenant_id, normalized_name)
        )
        return [_read_file(row) for row in rows]

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        row = self._db.row(FILE_SELECT + " WHERE f.tenant_id = ? AND f.filename = ?", (tenant_id, filename))
        return file_from_row(row) if row else None

    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        row = self._db.row(
            "SELECT status, reason FROM project_statuses WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return ACTIVE if row is None else ProjectStatus(ProjectStatusKind(row["status"]), row["reason"])

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        rows = self._db.rows(
            "SELECT normalized_name, status, reason FROM project_statuses WHERE tenant_id = ?", (tenant_id,)
        )
        return {row["normalized_name"]: ProjectStatus(ProjectStatusKind(row["status"]), row["reason"]) for row in rows}

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]:
        if not tenant_ids:
            return Page(items=[], total=0)
        placeholders = ",".join("?" for _ in tenant_ids)
        needle = f"%{query.strip().lower()}%"
        rows = self._db.rows(
            f"""SELECT * FROM projects WHERE tenant_id IN ({placeholders})
            AND (normalized_name LIKE ? OR lower(name) LIKE ? OR lower(COALESCE(summary, '')) LIKE ?)""",  # noqa: S608
            (*tenant_ids, needle, needle, needle),
        )
        ranked = rank_projects([project_from_row(row) for row in rows], query)
        return Page(items=ranked[offset : offset + limit], total=len(ranked))

    def stats(self) -> RegistryStats:
        row = self._db.row(
            """SELECT (SELECT COUNT(*) FROM tenants) AS tenants, (SELECT COUNT(*) FROM projects) AS projects,
            (SELECT COUNT(*) FROM releases) AS releases, (SELECT COUNT(*) FROM release_files) AS files,
            (SELECT COALESCE(SUM(size), 0) FROM release_files WHERE cached = 1) AS stored_bytes"""
        )
        assert row is not None
        return RegistryStats(**{key: int(value) for key, value in row.items()})
