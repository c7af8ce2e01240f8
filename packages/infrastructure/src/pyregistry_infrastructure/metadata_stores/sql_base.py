"""The connection source every SQL metadata port shares; SQLite, PostgreSQL and SQL Server subclass it.

A subclass supplies a :class:`Dialect` and ``connection()`` (a DB-API connection in autocommit mode for the
current thread or borrowed from a pool). Everything else lives here: queries use ``?`` placeholders through
:class:`SqlConnection`, writes run in ``write()`` transactions, and schema migrations are applied by ``migrate()``
under the dialect's cross-process lock. Every port built on the database does the same:
``with db.write() as conn: conn.execute("... ?", params)``, ``db.rows(...)``, and
``except db.dialect.integrity_errors`` with ``db.dialect.is_unique_violation(exc)``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pyregistry_application.index_versions import AwaitedStampReads, IndexVersions
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import NoTracer, Tracer
from pyregistry_domain.errors import ServiceUnavailable
from pyregistry_infrastructure.metadata_stores.awaited_stamps import ThreadedStampReads
from pyregistry_infrastructure.metadata_stores.rows import (
    dump_time,
)
from pyregistry_infrastructure.metadata_stores.schema_migrations import load_migrations, split_statements
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect

__all__ = ["Params", "SqlConnection", "SqlDatabase", "StoreUnavailable", "redact_url"]

Params = Sequence[Any] | Mapping[str, Any]  # a mapping (``:name`` placeholders) works on SQLite only

_LISTING = {"serial": "{new}.serial"}
_LISTING_AND_NAMES = {"serial": "{new}.serial", "names_serial": "{new}.names_serial"}


def redact_url(url: str) -> str:
    """The connection URL (or libpq ``key=value`` string) with every password replaced, for messages and logs."""
    url = re.sub(r"(password=)[^\s&]*", r"\1***", url, flags=re.IGNORECASE)
    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class StoreUnavailable(ServiceUnavailable):
    """The database cannot be reached or no pooled connection became free in time."""


class SqlConnection:
    """A DB-API connection that takes ``?`` placeholders whatever the driver's own style."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run one statement; return the driver cursor (``rowcount``, ``fetchone()``, ``description``)."""
        if isinstance(params, Mapping) and self.dialect.paramstyle != "qmark":
            raise TypeError(f"named parameters are SQLite-only; write ? placeholders for {self.dialect.name}")
        cursor = self.raw.cursor()
        if isinstance(params, Mapping):
            cursor.execute(sql, params)
        elif params:
            cursor.execute(self.dialect.sql(sql, True), tuple(params))
        else:
            cursor.execute(self.dialect.sql(sql, False))
        return cursor

    def __getattr__(self, name: str) -> Any:
        """Anything else (``total_changes``, ``create_function`` ...) is the driver's own and not portable."""
        return getattr(self.raw, name)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each parameter row."""
        for params in rows:
            self.execute(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        cursor = self.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SqlDatabase(ABC):
    """One database every SQL metadata port of a backend runs on; subclasses only connect."""

    dialect: Dialect
    tracer: Tracer = NoTracer()
    """Opens a ``db.query`` / ``db.transaction`` span around each statement or transaction."""

    @abstractmethod
    def connection(self) -> AbstractContextManager[Any]:
        """A raw DB-API connection in autocommit mode, held for the duration of the block."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    def awaited_stamp_reads(self, versions: IndexVersions, tokens: TokenStore) -> AwaitedStampReads:
        """How a cached page's request reads its stamp on the event loop: in a worker thread unless the database
        has a better way."""
        return ThreadedStampReads(versions, tokens)

    def pool_counters(self) -> Callable[[], dict[str, int]] | None:
        """Reads the connection pool's counters, or ``None`` when the database has no pool worth watching."""
        return None

    @contextmanager
    def write(self) -> Iterator[SqlConnection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.tracer.span("db.transaction", {"db.system": self.dialect.name}), self.connection() as raw:
            conn = SqlConnection(raw, self.dialect)
            conn.execute(self.dialect.begin_sql)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run one query outside any transaction; rows as dictionaries."""
        with self.tracer.span("db.query", {"db.system": self.dialect.name}), self.connection() as raw:
            return SqlConnection(raw, self.dialect).query(sql, params)

    def tuples(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run one query outside any transaction; rows as the driver's tuples, for reads of many rows."""
        with self.tracer.span("db.query", {"db.system": self.dialect.name}), self.connection() as raw:
            rows: list[tuple[Any, ...]] = SqlConnection(raw, self.dialect).execute(sql, params).fetchall()
            return rows

    def row(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        """The first row of one query, or ``None``."""
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def migrate(self) -> None:
        """Apply pending schema migrations in one transaction; safe when several processes start together."""
        steps = load_migrations(self.dialect.name)
        with self.write() as conn:
            if self.dialect.migration_lock_sql:
                conn.execute(self.dialect.migration_lock_sql)
            conn.execute(self.dialect.migrations_table_sql)
            applied = {row["id"] for row in conn.query("SELECT id FROM schema_migrations")}
            for migration_id, script in steps:
                if migration_id in applied:
                    continue
                for statement in split_statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)",
                    (migration_id, dump_time(datetime.now(UTC))),
                )

    def ping(self) -> None:
        """Raise unless a connection answers a query on this database's own schema."""
        self.rows("SELECT COUNT(*) AS n FROM schema_migrations")

    def applied_migrations(self) -> list[str]:
        """Ids of applied migrations, in name order."""
        return sorted(row["id"] for row in self.rows("SELECT id FROM schema_migrations"))

    def next_serial(self, conn: SqlConnection) -> int:
        """Take the next catalogue serial. Every catalogue write takes it first: the counter row's lock
        serialises catalogue writes, so reads made inside the transaction stay valid until it commits."""
        return int(conn.execute(self.dialect.next_serial_sql).fetchone()[0])

    def bump(self, conn: SqlConnection, tenant_id: str, normalized_name: str) -> None:
        """Give the project a new serial and the tenant's projects the same version, in this write (the project
        keeps its name: the root index keeps its version)."""
        serial = self.next_serial(conn)
        conn.execute(
            "UPDATE projects SET serial = ? WHERE tenant_id = ? AND normalized_name = ?",
            (serial, tenant_id, normalized_name),
        )
        self.listing_changed(conn, tenant_id, serial, names=False)

    def listing_changed(self, conn: SqlConnection, tenant_id: str, serial: int, *, names: bool = True) -> None:
        """Record ``serial`` in ``tenant_listings``, in this write: as the version of the tenant's projects (the
        page watcher's marker) and, when ``names`` (a project was added, renamed, taken over or removed), as its
        root index's version (read by ``SqlIndexVersions``). A write naming no existing tenant changes nothing."""
        if not conn.query("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)):
            return
        updates = _LISTING_AND_NAMES if names else _LISTING
        conn.execute(
            self.dialect.upsert("tenant_listings", ("tenant_id", "serial", "names_serial"), ("tenant_id",), updates),
            (tenant_id, serial, serial),
        )
