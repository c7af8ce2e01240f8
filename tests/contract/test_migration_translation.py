"""Portable migrations translate mechanically: a future-style migration runs on SQLite and on real PostgreSQL,
and the SQL Server spelling bounds key columns, guards IF NOT EXISTS and refuses keys that are too wide."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from pyregistry_infrastructure.metadata_stores.schema_migrations import split_statements
from pyregistry_infrastructure.metadata_stores.schema_translation import (
    TranslationError,
    collect_key_columns,
    to_postgres,
    to_sqlserver,
)
from tests.support.postgres import postgres_schema

CORE = """
CREATE TABLE projects (tenant_id TEXT NOT NULL, normalized_name TEXT NOT NULL, summary TEXT,
    PRIMARY KEY (tenant_id, normalized_name));
"""
FEATURE = """
-- a feature migration in the style other features add (0500_...sql)
CREATE TABLE IF NOT EXISTS scan_results (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    project TEXT NOT NULL,
    score REAL NOT NULL DEFAULT 0,
    report BLOB,
    passed INTEGER NOT NULL DEFAULT 0,
    scanned_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, project) REFERENCES projects(tenant_id, normalized_name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS scan_results_time ON scan_results(tenant_id, scanned_at);
ALTER TABLE projects ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN owner_email TEXT;
CREATE UNIQUE INDEX projects_owner ON projects(owner_email);
INSERT INTO projects (tenant_id, normalized_name, summary) VALUES ('t', 'p', 'INTEGER in a literal stays');
"""
INSERT_RESULT = (
    "INSERT INTO scan_results (id, tenant_id, project, score, report, passed, scanned_at) "
    "VALUES ('r1', 't', 'p', 0.5, NULL, 1, '2026-01-01T00:00:00.000000Z')"
)


def statements(*scripts: str) -> list[str]:
    return [statement for script in scripts for statement in split_statements(script)]


def test_feature_migration_runs_on_sqlite_as_written(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    for statement in statements(CORE, FEATURE, FEATURE.split("ALTER")[0]):
        conn.execute(statement)
    conn.execute(INSERT_RESULT)
    assert conn.execute("SELECT summary, quarantined FROM projects").fetchone() == ("INTEGER in a literal stays", 0)


@pytest.mark.postgres
def test_feature_migration_runs_on_postgres_when_translated() -> None:
    with postgres_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        for statement in statements(CORE, FEATURE, FEATURE.split("ALTER")[0]):
            conn.execute(to_postgres(statement))
        conn.execute(INSERT_RESULT)
        row = conn.execute("SELECT summary, quarantined FROM projects").fetchone()
        assert row == ("INTEGER in a literal stays", 0)
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'scan_results'"
            ).fetchall()
        )
        assert types["passed"] == "bigint" and types["score"] == "double precision" and types["report"] == "bytea"


def test_sqlserver_spelling_bounds_keys_and_guards_if_not_exists() -> None:
    all_statements = statements(CORE, FEATURE)
    keys = collect_key_columns(all_statements)
    widths: dict[str, dict[str, int]] = {}
    translated = [to_sqlserver(statement, keys, widths) for statement in all_statements]
    core, table, index, add_flag, add_email, unique_index, insert = translated
    assert "tenant_id NVARCHAR(64) NOT NULL" in core and "normalized_name NVARCHAR(200) NOT NULL" in core
    assert "summary NVARCHAR(MAX)" in core
    assert table.startswith("IF OBJECT_ID(N'scan_results', N'U') IS NULL CREATE TABLE scan_results (")
    assert "id NVARCHAR(64) NOT NULL PRIMARY KEY" in table
    assert "project NVARCHAR(200) NOT NULL" in table  # takes the length of the column it references
    assert "score FLOAT NOT NULL DEFAULT 0" in table and "report VARBINARY(MAX)" in table
    assert "passed BIGINT NOT NULL DEFAULT 0" in table and "scanned_at NVARCHAR(40) NOT NULL" in table
    assert index == (
        "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'scan_results_time') "
        "CREATE INDEX scan_results_time ON scan_results(tenant_id, scanned_at)"
    )
    assert add_flag == "ALTER TABLE projects ADD quarantined BIGINT NOT NULL DEFAULT 0"
    assert add_email == "ALTER TABLE projects ADD owner_email NVARCHAR(320)"
    assert unique_index == "CREATE UNIQUE INDEX projects_owner ON projects(owner_email)"
    assert insert.endswith("'INTEGER in a literal stays')")


def test_sqlserver_refuses_keys_wider_than_it_allows() -> None:
    wide = "CREATE TABLE wide (a_name TEXT, b_name TEXT, c_name TEXT, PRIMARY KEY (a_name, b_name, c_name))"
    keys = collect_key_columns([wide])
    with pytest.raises(TranslationError, match="1200 bytes wide; SQL Server allows 900"):
        to_sqlserver(wide, keys, {})
