"""SQLite metadata database (WAL, versioned schema), the default metadata store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyregistry_application.index_versions import AwaitedStampReads, IndexVersions
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import NoTracer, Tracer
from pyregistry_infrastructure.metadata_stores.awaited_stamps import InPlaceStampReads, RememberedStampReads
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect

__all__ = ["SQLITE", "SqliteDatabase"]


def _sqlite_unique(error: BaseException) -> bool:
    text = str(error)
    return "UNIQUE constraint failed" in text or "PRIMARY KEY" in text


SQLITE = Dialect(
    name="sqlite",
    paramstyle="qmark",
    merge_style="on_conflict",
    begin_sql="BEGIN IMMEDIATE",
    next_serial_sql="UPDATE serial_counter SET value = value + 1 WHERE id = 1 RETURNING value",
    migration_lock_sql=None,  # BEGIN IMMEDIATE already excludes every other writer
    migrations_table_sql="CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    integrity_errors=(sqlite3.IntegrityError,),
    unique_violation=_sqlite_unique,
    snapshot_begin_sql="BEGIN DEFERRED",  # a WAL read transaction sees one snapshot until it ends
)


class SqliteDatabase(SqlDatabase):
    """One connection per thread on a WAL database; writes run in ``BEGIN IMMEDIATE`` transactions."""

    dialect = SQLITE

    def __init__(self, path: str | Path, tracer: Tracer | None = None) -> None:
        self.tracer = tracer or NoTracer()
        self._path = str(path)
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        self.migrate()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        yield self._conn()

    def awaited_stamp_reads(self, versions: IndexVersions, tokens: TokenStore) -> AwaitedStampReads:
        """In place on the event loop: a keyed read of the local WAL file, which no writer holds up, remembered
        until :meth:`data_version` moves (an in-memory database, private to each connection, is read every time)."""
        if self._path == ":memory:":
            return InPlaceStampReads(versions, tokens)
        return RememberedStampReads(versions, tokens, self.data_version)

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` on one watch connection that never writes: it moves whenever any
        connection of any thread or process commits, and only grows."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
                self._watch.execute("PRAGMA query_only=ON")
                with self._connections_lock:
                    self._connections.append(self._watch)
            version: int = self._watch.execute("PRAGMA data_version").fetchone()[0]
        return version

    def close(self) -> None:
        """Close every connection this database opened."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        with self._watch_lock:
            self._watch = None
