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

__all__ = ["CLOSE_WAIT_SECONDS", "SQLITE", "SqliteDatabase"]

CLOSE_WAIT_SECONDS = 2.0
"""How long :meth:`SqliteDatabase.close` waits for another thread's statement to end."""


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
        self._connections: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._connections_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        self.migrate()

    def _conn(self) -> tuple[sqlite3.Connection, threading.RLock]:
        """This thread's connection and the lock held while it is in use (so :meth:`close` never closes it under a
        running statement)."""
        found: tuple[sqlite3.Connection, threading.RLock] | None = getattr(self._local, "conn", None)
        if found is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            found = self._local.conn = (conn, threading.RLock())
            with self._connections_lock:
                self._connections.append(found)
        return found

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn, in_use = self._conn()
        with in_use:
            yield conn

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
            version: int = self._watch.execute("PRAGMA data_version").fetchone()[0]
        return version

    def close(self) -> None:
        """Close every connection this database opened. One that another thread is using (a job left running at
        shutdown, say) is closed once its statement ends, waited for at most ``CLOSE_WAIT_SECONDS`` and else left
        open: closing a connection under a running statement crashes the interpreter."""
        with self._connections_lock:
            opened, self._connections = self._connections, []
            self._local = threading.local()
        with self._watch_lock:
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        for conn, in_use in opened:
            if in_use.acquire(timeout=CLOSE_WAIT_SECONDS):
                try:
                    conn.close()
                finally:
                    in_use.release()
