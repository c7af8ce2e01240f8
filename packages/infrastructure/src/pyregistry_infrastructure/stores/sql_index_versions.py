"""Index version stamps read from any SQL registry store with two index-only queries."""

from __future__ import annotations

from pyregistry_infrastructure.stores.sql_base import SqlRegistryStore

__all__ = ["SqlIndexVersions"]


class SqlIndexVersions:
    """Implements ``IndexVersions`` on the registry's database (SQLite, PostgreSQL or SQL Server).

    Every call reads the database, so a page cached by one process is invalidated by a change made through
    another process sharing it. Both queries are answered from the ``(tenant_id, serial)`` index and the
    primary key of ``projects``.
    """

    def __init__(self, store: SqlRegistryStore) -> None:
        self._store = store

    def listing_version(self, tenant_id: str) -> str:
        """Project count and highest serial of the tenant (serials only grow, so the pair never repeats)."""
        row = self._store._row(
            "SELECT COUNT(*) AS n, COALESCE(MAX(serial), 0) AS top FROM projects WHERE tenant_id = ?", (tenant_id,)
        )
        assert row is not None
        return f"{int(row['n'])}-{int(row['top'])}"

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin, or ``None``."""
        row = self._store._row(
            "SELECT serial, origin FROM projects WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return None if row is None else (int(row["serial"]), str(row["origin"]))
