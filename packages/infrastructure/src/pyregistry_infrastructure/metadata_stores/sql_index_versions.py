"""Index version stamps read from any SQL database, each with one lookup by key."""

from __future__ import annotations

from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlIndexVersions"]


class SqlIndexVersions:
    """Implements ``IndexVersions`` on the registry's database (SQLite, PostgreSQL or SQL Server).

    Every call reads the database, so a page cached by one process is invalidated by a change made through
    another process sharing it. Both queries read one row by primary key (``tenant_listings``, ``projects``),
    so their cost does not grow with the number of projects.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def listing_version(self, tenant_id: str) -> str:
        """The serial of the tenant's last project change (added, changed or removed; serials only grow)."""
        row = self._db.row("SELECT serial FROM tenant_listings WHERE tenant_id = ?", (tenant_id,))
        return "0" if row is None else str(int(row["serial"]))

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin, or ``None``."""
        row = self._db.row(
            "SELECT serial, origin FROM projects WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return None if row is None else (int(row["serial"]), str(row["origin"]))
