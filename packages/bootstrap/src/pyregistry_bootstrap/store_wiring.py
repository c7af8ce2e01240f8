"""Opening the metadata store named by ``database_store``, importing only that store's driver."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pyregistry_application.ports import RegistryStore
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.secret_masking import mask_url
from pyregistry_infrastructure.settings import PostgresSettings, Settings, SqlServerSettings

if TYPE_CHECKING:
    from pyregistry_infrastructure.metadata_stores.postgres import PostgresRegistryStore
    from pyregistry_infrastructure.metadata_stores.sqlserver import SqlServerRegistryStore

__all__ = ["build_store", "open_existing_store", "store_location", "store_logs"]

_SQLITE = frozenset({"sqlite"})
_MEMORY = frozenset({"memory", "in-memory"})
_POSTGRES = frozenset({"postgres", "postgresql"})
_SQL_SERVER = frozenset({"sqlserver", "mssql"})


def build_store(settings: Settings) -> RegistryStore:
    """The metadata store named by ``database_store``, created (with its directory) when it does not exist."""
    kind = settings.database_store
    if kind in _SQLITE:
        from pyregistry_infrastructure.metadata_stores.sqlite import SqliteRegistryStore

        return SqliteRegistryStore(settings.sqlite.path)
    if kind in _MEMORY:
        from pyregistry_infrastructure.metadata_stores.memory import MemoryRegistryStore

        return MemoryRegistryStore()
    if kind in _POSTGRES:
        from pyregistry_infrastructure.metadata_stores.postgres import PostgresRegistryStore

        return _build_pooled_store(settings.postgres, "postgres", PostgresRegistryStore)
    if kind in _SQL_SERVER:
        from pyregistry_infrastructure.metadata_stores.sqlserver import SqlServerRegistryStore

        return _build_pooled_store(settings.sql_server, "sql_server", SqlServerRegistryStore)
    raise ConfigError(f"key 'database_store': {kind!r} is not available in this build")


def store_logs(settings: Settings) -> bool:
    """True when the store writes log lines (the pooled SQL stores); SQLite and memory stores write none, so a
    command using only them need not configure (and import) logging."""
    return settings.database_store in _POSTGRES | _SQL_SERVER


def open_existing_store(settings: Settings) -> RegistryStore:
    """The metadata store, refusing to create a SQLite database (and its directory) that is not there yet: commands
    that act on existing tenants must not leave an empty registry behind when run from the wrong directory."""
    if settings.database_store in _SQLITE and not Path(settings.sqlite.path).is_file():
        raise ConfigError(f"no registry here: {store_location(settings)} does not exist (wrong directory or --config?)")
    return build_store(settings)


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


def _build_pooled_store(
    section: PostgresSettings | SqlServerSettings,
    section_name: str,
    factory: type[PostgresRegistryStore | SqlServerRegistryStore],
) -> RegistryStore:
    """A pooled SQL store from ``[postgres]`` or ``[sql_server]``; problems become one-line config errors."""
    from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
    from pyregistry_infrastructure.metadata_stores.schema_migrations import MigrationNotPortable
    from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable

    try:
        limits = PoolLimits(section.max_connections, section.min_connections, section.acquire_timeout_seconds)
        return factory(section.connection_url, limits)
    except (ValueError, MigrationNotPortable) as exc:
        raise ConfigError(f"key '{section_name}': {exc}") from None
    except StoreUnavailable as exc:
        raise ConfigError(f"key '{section_name}.connection_url': {exc}") from None
