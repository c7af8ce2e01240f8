"""SQL Server metadata database: pymssql connections in a :class:`BlockingPool`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymssql
import structlog

from pyregistry_application.tracing_ports import NoTracer, Tracer
from pyregistry_infrastructure.metadata_stores.pool import BlockingPool, PoolExhausted, PoolLimits
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase, StoreUnavailable, redact_url
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect

__all__ = ["SQLSERVER", "SqlServerDatabase", "SqlServerTarget", "parse_sqlserver_url"]

_log = structlog.get_logger(__name__)
_UNIQUE_ERRORS = {2601, 2627}

SQLSERVER = Dialect(
    name="sqlserver",
    paramstyle="format",
    merge_style="merge",
    begin_sql="BEGIN TRANSACTION",
    next_serial_sql="UPDATE serial_counter SET value = value + 1 OUTPUT inserted.value WHERE id = 1",
    migration_lock_sql=(
        "EXEC sp_getapplock @Resource = 'pyregistry.schema_migrations', @LockMode = 'Exclusive', "
        "@LockOwner = 'Transaction', @LockTimeout = 120000"
    ),
    migrations_table_sql=(
        "IF OBJECT_ID(N'schema_migrations', N'U') IS NULL CREATE TABLE schema_migrations "
        "(id NVARCHAR(200) NOT NULL PRIMARY KEY, applied_at NVARCHAR(40) NOT NULL)"
    ),
    integrity_errors=(pymssql.IntegrityError,),
    unique_violation=lambda error: bool(error.args) and error.args[0] in _UNIQUE_ERRORS,
    snapshot_begin_sql="SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; BEGIN TRANSACTION",
    snapshot_end_sql="SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
)


@dataclass(frozen=True, slots=True)
class SqlServerTarget:
    """Where to connect, parsed from ``sqlserver://user:password@host:port/database?options``."""

    host: str
    port: int
    user: str
    password: str
    database: str
    encrypt: bool


def parse_sqlserver_url(url: str) -> SqlServerTarget:
    """Parse ``sqlserver://`` / ``mssql://`` URLs; ``ValueError`` names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in {"sqlserver", "mssql"}:
        raise ValueError(f"{redact_url(url)!r} must start with sqlserver:// or mssql://")
    if not parts.hostname or not parts.username:
        raise ValueError(f"{redact_url(url)!r} needs a user and a host")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError(f"{redact_url(url)!r} needs a database name after the host")
    options = {key.lower(): values[-1].lower() for key, values in parse_qs(parts.query).items()}
    return SqlServerTarget(
        host=parts.hostname,
        port=parts.port or 1433,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        database=database,
        encrypt=options.get("encrypt", "false") in {"true", "yes", "1", "strict", "mandatory"},
    )


class SqlServerDatabase(SqlDatabase):
    """Same schema and behaviour as the other SQL databases, on SQL Server through pymssql."""

    dialect = SQLSERVER

    def __init__(self, connection_url: str, limits: PoolLimits | None = None, tracer: Tracer | None = None) -> None:
        self.tracer = tracer or NoTracer()
        self._limits = limits = limits or PoolLimits()
        self._target = parse_sqlserver_url(connection_url)
        self._where = redact_url(connection_url)
        try:
            self._pool: BlockingPool[Any] = BlockingPool(
                self._connect,
                _close_quietly,
                min_size=limits.min_connections,
                max_size=limits.max_connections,
                timeout=limits.acquire_timeout_seconds,
                discard_on=(pymssql.OperationalError, pymssql.InterfaceError),
            )
            self.migrate()
        except (pymssql.Error, PoolExhausted) as exc:
            raise StoreUnavailable(f"cannot use SQL Server at {self._where}: {_describe(exc)}") from None
        _log.info("sqlserver.pool_open", url=self._where, min=limits.min_connections, max=limits.max_connections)

    def _connect(self) -> Any:
        target = self._target
        return pymssql.connect(
            server=target.host,
            port=str(target.port),
            user=target.user,
            password=target.password,
            database=target.database,
            autocommit=True,
            login_timeout=max(1, round(self._limits.acquire_timeout_seconds)),
            encryption="require" if target.encrypt else "off",
        )

    @contextmanager
    def connection(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolExhausted:
            raise StoreUnavailable(self._limits.exhausted("SQL Server", "sql_server")) from None

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


def _describe(error: BaseException) -> str:
    """pymssql errors carry ``(code, bytes)``; keep the code and the first readable line."""
    args = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], tuple) else error.args
    if len(args) == 2 and isinstance(args[1], bytes):
        lines = [line.strip() for line in args[1].decode(errors="replace").splitlines() if line.strip()]
        detail = next(
            (line for line in lines if not line.startswith("DB-Lib error message")), lines[0] if lines else ""
        )
        return f"error {args[0]}: {detail}"
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except pymssql.Error:
        return
