"""Index version stamps read straight from SQLite with two index-only queries."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

__all__ = ["SqliteIndexVersions"]


class SqliteIndexVersions:
    """Implements ``IndexVersions`` on the registry's SQLite file; every call reads the database, so a page
    cached by one process is invalidated by a change made through another process sharing the file."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def listing_version(self, tenant_id: str) -> str:
        """Project count and highest serial of the tenant (serials only grow, so the pair never repeats)."""
        count, serial = (
            self._conn()
            .execute("SELECT COUNT(*), COALESCE(MAX(serial), 0) FROM projects WHERE tenant_id = ?", (tenant_id,))
            .fetchone()
        )
        return f"{count}-{serial}"

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin, or ``None``."""
        row = (
            self._conn()
            .execute(
                "SELECT serial, origin FROM projects WHERE tenant_id = ? AND normalized_name = ?",
                (tenant_id, normalized_name),
            )
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]))
