"""Opening the metadata backend named by ``database_store`` (once per process), importing only its driver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.tracing_ports import Tracer
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.secret_masking import mask_url
from pyregistry_infrastructure.settings import PostgresSettings, Settings, SqlServerSettings

if TYPE_CHECKING:
    from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
    from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["build_backend", "open_existing_backend", "store_location", "store_logs"]

_SQLITE = frozenset({"sqlite"})
_MEMORY = frozenset({"memory", "in-memory"})
_POSTGRES = frozenset({"postgres", "postgresql"})
_SQL_SERVER = frozenset({"sqlserver", "mssql"})


def build_backend(settings: Settings, tracer: Tracer | None = None) -> MetadataBackend:
    """Every metadata port of the backend named by ``database_store``, created (with its directory) when it does not
    exist; with ``tracer`` each SQL statement and transaction opens a span."""
    kind = settings.database_store
    if kind in _MEMORY:
        from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend

        return memory_backend()
    from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend

    return sql_backend(_open_database(settings, tracer))


def _open_database(settings: Settings, tracer: Tracer | None) -> SqlDatabase:
    kind = settings.database_store
    if kind in _SQLITE:
        from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase

        return SqliteDatabase(settings.sqlite.path, tracer)
    if kind in _POSTGRES:
        from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase

        listen = settings.postgres.listen_for_changes
        return _open_pooled(
            settings.postgres,
            "postgres",
            lambda url, limits: PostgresDatabase(url, limits, tracer, listen_for_changes=listen),
        )
    if kind in _SQL_SERVER:
        from pyregistry_infrastructure.metadata_stores.sqlserver import SqlServerDatabase

        return _open_pooled(
            settings.sql_server, "sql_server", lambda url, limits: SqlServerDatabase(url, limits, tracer)
        )
    raise ConfigError(f"key 'database_store': {kind!r} is not available in this build")


def store_logs(settings: Settings) -> bool:
    """True when the store writes log lines (the pooled SQL stores); SQLite and memory stores write none, so a
    command using only them need not configure (and import) logging."""
    return settings.database_store in _POSTGRES | _SQL_SERVER


def open_existing_backend(settings: Settings) -> MetadataBackend:
    """The metadata backend, refusing to create a SQLite database (and its directory) that is not there yet: commands
    that act on existing tenants must not leave an empty registry behind when run from the wrong directory."""
    if settings.database_store in _SQLITE and not Path(settings.sqlite.path).is_file():
        raise ConfigError(f"no registry here: {store_location(settings)} does not exist (wrong directory or --config?)")
    return build_backend(settings)


def store_location(settings: Settings) -> str:
    """Where the metadata lives, for messages: the data directory and the database (credentials masked)."""
    kind = settings.database_store
    if kind in _SQLITE:
        database = f"SQLite database {settings.sqlite.path}"
    elif kind in _POSTGRES:
        database = f"PostgreSQL database {mask_url(settings.postgres.connection_url)}"
    elif kind in _SQL_SERVER:
        database = f"SQL Server database {mask_url(settings.sql_server.connection_url)}"
    else:
        database = "in-memory store"
    return f"{database} (data directory {settings.data_dir})"


def _open_pooled(
    section: PostgresSettings | SqlServerSettings,
    section_name: str,
    open_database: Callable[[str, PoolLimits], SqlDatabase],
) -> SqlDatabase:
    """A pooled SQL database from ``[postgres]`` or ``[sql_server]``; problems become one-line config errors."""
    from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
    from pyregistry_infrastructure.metadata_stores.schema_migrations import MigrationNotPortable
    from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable

    try:
        limits = PoolLimits(section.max_connections, section.min_connections, section.acquire_timeout_seconds)
        return open_database(section.connection_url, limits)
    except (ValueError, MigrationNotPortable) as exc:
        raise ConfigError(f"key '{section_name}': {exc}") from None
    except StoreUnavailable as exc:
        raise ConfigError(f"key '{section_name}.connection_url': {exc}") from None
