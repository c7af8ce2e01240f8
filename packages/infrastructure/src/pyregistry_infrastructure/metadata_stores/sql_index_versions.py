"""Index version stamps read from any SQL database, each with one lookup by key."""

from __future__ import annotations

from typing import Any

from pyregistry_application.index_versions import DownloadInputs, IndexChanges, StampInputs
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.rows import file_from_row, tenant_from_row, token_from_row
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sql_catalogue_reads import RELEASE_FILE_COLUMNS

__all__ = ["SqlIndexVersions", "download_inputs_from", "download_query", "stamp_inputs_from", "stamp_query"]

# Column names below are constants of this module, never request input.
_TENANT_COLUMNS = ("id", "slug", "display_name", "mirroring_enabled", "created_at")
_TOKEN_AND_TENANT = "SELECT tok.*, " + ", ".join(f"ten.{column} AS stamp_tenant_{column}" for column in _TENANT_COLUMNS)
"""The token's columns and, prefixed ``stamp_tenant_``, those of the tenant joined as ``ten`` (see :func:`_tenant`)."""
_STAMP_SELECT = (
    _TOKEN_AND_TENANT + ", tl.names_serial AS stamp_listing_serial{project_columns}"
    " FROM api_tokens tok"
    " LEFT JOIN tenants ten ON ten.id = tok.tenant_id AND ten.slug = ?"
    " LEFT JOIN tenant_listings tl ON tl.tenant_id = ten.id{project_join}"
    " WHERE tok.key_id = ?"
)
_LISTING_STAMP_SQL = _STAMP_SELECT.format(project_columns="", project_join="")
_PROJECT_STAMP_SQL = _STAMP_SELECT.format(
    project_columns=", p.serial AS stamp_project_serial, p.origin AS stamp_project_origin",
    project_join=" LEFT JOIN projects p ON p.tenant_id = ten.id AND p.normalized_name = ?",
)
_FILE_ROW_COLUMNS = (*RELEASE_FILE_COLUMNS, "yanked", "yanked_reason")
_DOWNLOAD_SQL = (
    _TOKEN_AND_TENANT
    + ", "
    + ", ".join(f"f.{column} AS file_{column}" for column in RELEASE_FILE_COLUMNS)
    + ", r.version AS file_release_version, r.yanked AS file_yanked, r.yanked_reason AS file_yanked_reason"
    ", ps.status AS status_kind, ps.reason AS status_reason"
    " FROM api_tokens tok"
    " LEFT JOIN tenants ten ON ten.id = tok.tenant_id AND ten.slug = ?"
    " LEFT JOIN release_files f ON f.tenant_id = ten.id AND f.filename = ?"
    " LEFT JOIN releases r ON r.tenant_id = f.tenant_id AND r.normalized_name = f.normalized_name"
    " AND r.version = f.version"
    " LEFT JOIN project_statuses ps ON ps.tenant_id = ten.id AND ps.normalized_name = ?"
    " WHERE tok.key_id = ?"
)


class SqlIndexVersions:
    """Implements ``IndexVersions`` on the registry's database (SQLite, PostgreSQL or SQL Server).

    Every call reads the database, so a page cached by one process is invalidated by a change made through
    another process sharing it, and a revoked token is refused at once. Every query reads rows by key
    (``api_tokens``, ``tenants``, ``tenant_listings``, ``projects``), so its cost does not grow with the number of
    projects; :meth:`stamp_inputs` reads all of them in one statement (one round trip on a networked database).
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def listing_version(self, tenant_id: str) -> str:
        """The serial of the last write that changed the tenant's project names (a project added, renamed, taken
        over or removed; serials only grow)."""
        row = self._db.row("SELECT names_serial FROM tenant_listings WHERE tenant_id = ?", (tenant_id,))
        return "0" if row is None else str(int(row["names_serial"]))

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin, or ``None``."""
        row = self._db.row(
            "SELECT serial, origin FROM projects WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return None if row is None else (int(row["serial"]), str(row["origin"]))

    def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The token, its tenant (when it has ``tenant_slug``) and both versions, in one query."""
        return stamp_inputs_from(self._db.row(*stamp_query(key_id, tenant_slug, normalized_name)))

    def download_inputs(self, key_id: str, tenant_slug: str, normalized_name: str, filename: str) -> DownloadInputs:
        """The token, its tenant, the file (with its release's yanked mark) and the project's status, in one query."""
        return download_inputs_from(self._db.row(*download_query(key_id, tenant_slug, normalized_name, filename)))

    def changes_since(self, serial: int | None) -> IndexChanges:
        """Tenants whose ``tenant_listings`` serial passed ``serial`` (one row per tenant), then their projects
        past it (the ``(tenant_id, serial)`` index): the cost follows the changes, not the number of projects."""
        if serial is None:
            row = self._db.row("SELECT MAX(serial) AS top FROM tenant_listings")
            return IndexChanges(serial=0 if row is None or row["top"] is None else int(row["top"]))
        tenants = self._db.rows("SELECT tenant_id, serial FROM tenant_listings WHERE serial > ?", (serial,))
        projects = [
            (str(tenant["tenant_id"]), str(row["normalized_name"]))
            for tenant in tenants
            for row in self._db.rows(
                "SELECT normalized_name FROM projects WHERE tenant_id = ? AND serial > ?", (tenant["tenant_id"], serial)
            )
        ]
        return IndexChanges(
            serial=max((int(tenant["serial"]) for tenant in tenants), default=serial),
            listings=sorted(str(tenant["tenant_id"]) for tenant in tenants),
            projects=projects,
        )


def stamp_query(key_id: str, tenant_slug: str, normalized_name: str | None) -> tuple[str, tuple[str, ...]]:
    """The one statement (``?`` placeholders) and parameters that read :class:`StampInputs`."""
    if normalized_name is None:
        return _LISTING_STAMP_SQL, (tenant_slug, key_id)
    return _PROJECT_STAMP_SQL, (tenant_slug, normalized_name, key_id)


def stamp_inputs_from(row: dict[str, Any] | None) -> StampInputs:
    """What :func:`stamp_query` read: no row when no token has the key id."""
    if row is None:
        return StampInputs(token=None, tenant=None, listing_version="0", project=None)
    listing = row["stamp_listing_serial"]
    project = None
    if row.get("stamp_project_serial") is not None:
        project = (int(row["stamp_project_serial"]), str(row["stamp_project_origin"]))
    return StampInputs(
        token=token_from_row(row),
        tenant=_tenant(row),
        listing_version="0" if listing is None else str(int(listing)),
        project=project,
    )


def _tenant(row: dict[str, Any]) -> Tenant | None:
    """The tenant columns of a stamp row, or ``None`` when the join found no tenant."""
    if row["stamp_tenant_id"] is None:
        return None
    return tenant_from_row({column: row[f"stamp_tenant_{column}"] for column in _TENANT_COLUMNS})


def download_query(key_id: str, tenant_slug: str, normalized_name: str, filename: str) -> tuple[str, tuple[str, ...]]:
    """The one statement (``?`` placeholders) and parameters that read :class:`DownloadInputs`."""
    return _DOWNLOAD_SQL, (tenant_slug, filename, normalized_name, key_id)


def download_inputs_from(row: dict[str, Any] | None) -> DownloadInputs:
    """What :func:`download_query` read: no row when no token has the key id."""
    if row is None:
        return DownloadInputs(token=None, tenant=None, file=None, status=ACTIVE)
    tenant = _tenant(row)
    status = ACTIVE
    if tenant is not None and row["status_kind"] is not None:
        status = ProjectStatus(ProjectStatusKind(row["status_kind"]), row["status_reason"])
    return DownloadInputs(token=token_from_row(row), tenant=tenant, file=_file(row), status=status)


def _file(row: dict[str, Any]) -> ReleaseFile | None:
    """The file columns of a download row, or ``None`` when the join found no file (or no release of it)."""
    if row["file_filename"] is None or row["file_release_version"] is None:
        return None
    return file_from_row({column: row[f"file_{column}"] for column in _FILE_ROW_COLUMNS})
