"""PostgreSQL metadata database: psycopg 3 with a psycopg_pool connection pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool
import structlog
from psycopg import errors as pg_errors

from pyregistry_application.index_versions import AwaitedStampReads, IndexVersions
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import NoTracer, Tracer
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres_changes import ChangeCounter
from pyregistry_infrastructure.metadata_stores.postgres_stamps import PostgresStampReads
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, SqlDatabase, StoreUnavailable, redact_url
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect

__all__ = ["POSTGRES", "PostgresDatabase"]

_log = structlog.get_logger(__name__)

POSTGRES = Dialect(
    name="postgres",
    paramstyle="format",
    merge_style="on_conflict",
    begin_sql="BEGIN",
    next_serial_sql="UPDATE serial_counter SET value = value + 1 WHERE id = 1 RETURNING value",
    migration_lock_sql=(
        "SELECT pg_advisory_xact_lock(hashtext('pyregistry.schema_migrations.' || COALESCE(current_schema(), '')))"
    ),
    migrations_table_sql="CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    integrity_errors=(psycopg.IntegrityError,),
    unique_violation=lambda error: isinstance(error, pg_errors.UniqueViolation),
    snapshot_begin_sql="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
)


class PostgresDatabase(SqlDatabase):
    """A pool of ``min_connections``..``max_connections`` autocommit connections; waiting longer than
    ``acquire_timeout_seconds`` for a free one raises :class:`StoreUnavailable`.

    ``listen_for_changes``: stamp reads keep their answers until PostgreSQL notifies a change (see
    ``postgres_changes``); off, every cached page's request reads PostgreSQL."""

    dialect = POSTGRES

    def __init__(
        self,
        connection_url: str,
        limits: PoolLimits | None = None,
        tracer: Tracer | None = None,
        *,
        listen_for_changes: bool = True,
    ) -> None:
        self.tracer = tracer or NoTracer()
        self._changes = ChangeCounter() if listen_for_changes else None
        self._limits = limits = limits or PoolLimits()
        self._where = redact_url(connection_url)
        self._url = connection_url
        self._timeout = limits.acquire_timeout_seconds
        self._pool = psycopg_pool.ConnectionPool(
            connection_url,
            min_size=limits.min_connections,
            max_size=limits.max_connections,
            timeout=limits.acquire_timeout_seconds,
            kwargs={"autocommit": True},
            name="pyregistry",
            open=False,
        )
        try:
            with psycopg.connect(connection_url, connect_timeout=max(1, round(limits.acquire_timeout_seconds))):
                pass
            self._pool.open(wait=limits.min_connections > 0, timeout=limits.acquire_timeout_seconds)
            self.migrate()
        except (psycopg_pool.PoolTimeout, psycopg.Error, StoreUnavailable) as exc:
            self._pool.close()
            raise StoreUnavailable(f"cannot use PostgreSQL at {self._where}: {_first_line(exc)}") from None
        _log.info("postgres.pool_open", url=self._where, min=limits.min_connections, max=limits.max_connections)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection(timeout=self._timeout) as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            raise StoreUnavailable(self._limits.exhausted("PostgreSQL", "postgres")) from None

    @contextmanager
    def write(self) -> Iterator[SqlConnection]:
        """One transaction, as :meth:`SqlDatabase.write`; once it ends, stamp answers kept by this process are
        stale (its own change is then seen at once, before the notification comes back)."""
        try:
            with super().write() as conn:
                yield conn
        finally:
            if self._changes is not None:
                self._changes.moved()

    def awaited_stamp_reads(self, versions: IndexVersions, tokens: TokenStore) -> AwaitedStampReads:
        """Awaited on an asyncio pool of the event loop's own, remembered between change notifications."""
        del versions  # the same statement, run by the asyncio driver
        return PostgresStampReads(self._url, self.dialect, self._limits, tokens, self.tracer, self._changes)

    def pool_counters(self) -> Callable[[], dict[str, int]]:
        """Reads psycopg_pool's counters, for the pool metrics."""
        return self.pool_stats

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (``pool_size``, ``pool_available``, ``requests_waiting`` ...)."""
        return dict(self._pool.get_stats())

    def close(self) -> None:
        """Close the pool and every connection in it."""
        self._pool.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
