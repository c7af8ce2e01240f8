"""The table export behind backup and restore, on every SQL store: complete, and loadable into another engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyregistry_application.backup_ports import Row
from pyregistry_infrastructure.metadata_stores.sql_archive import SKIPPED_TABLES, SqlMetadataArchive
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from tests.contract.conftest import SQL_STORE_PARAMS, open_database
from tests.contract.metadata_builders import T0, publish, tenant

pytestmark = pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)

_CATALOG = {
    "sqlite": "SELECT name AS name FROM sqlite_master WHERE type = 'table'",
    "postgres": "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
    "sqlserver": "SELECT table_name AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE'",
}


def sql_store(kind: str, where: str) -> SqlDatabase:
    return open_database(kind, where, max_connections=2, min_connections=1)


def exported(archive: SqlMetadataArchive) -> dict[str, list[Row]]:
    with archive.snapshot() as tables:
        return {table: list(rows) for table, rows in tables}


def test_every_table_is_exported_or_deliberately_left_out(store_location: tuple[str, str]) -> None:
    kind, where = store_location
    store = sql_store(kind, where)
    in_database = {str(row["name"]).lower() for row in store.rows(_CATALOG[kind])}
    assert set(exported(SqlMetadataArchive(store))) | SKIPPED_TABLES == in_database
    store.close()


def test_export_loads_into_an_empty_sqlite_store_unchanged(store_location: tuple[str, str], tmp_path: Path) -> None:
    kind, where = store_location
    database = sql_store(kind, where)
    source = sql_backend(database)
    source.tenants.add_tenant(tenant("acme"))
    publish(source, "t-acme", "Demo", "1.0")
    publish(source, "t-acme", "Demo", "1.1")
    source.catalogue.set_release_yanked("t-acme", "demo", "1.1", True, "broken")
    snapshot = exported(SqlMetadataArchive(database))
    assert [row["version"] for row in snapshot["release_files"]] == ["1.0", "1.1"]
    assert snapshot["tenants"] == [
        {
            "id": "t-acme",
            "slug": "acme",
            "display_name": "Acme",
            "mirroring_enabled": 0,
            "created_at": T0.isoformat().replace("+00:00", "Z"),
        }
    ]

    target = SqlMetadataArchive(SqliteDatabase(tmp_path / "target.sqlite3"))
    assert target.non_empty_tables() == {}
    loaded = target.load((table, iter(rows)) for table, rows in snapshot.items())
    assert loaded == {table: len(rows) for table, rows in snapshot.items()}
    assert exported(target) == snapshot
    assert target.non_empty_tables() == {
        "tenants": 1,
        "projects": 1,
        "releases": 2,
        "release_files": 2,
        "tenant_listings": 1,
    }
    database.close()
