"""Dialect SQL forms, per-dialect migration loading, the SQL Server URL parser and the blocking pool."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pyregistry_infrastructure.metadata_stores.pool import BlockingPool, PoolExhausted
from pyregistry_infrastructure.metadata_stores.postgres import POSTGRES
from pyregistry_infrastructure.metadata_stores.schema_migrations import load_migrations, split_statements
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, redact_url
from pyregistry_infrastructure.metadata_stores.sqlite import SQLITE, SqliteDatabase
from pyregistry_infrastructure.metadata_stores.sqlserver import SQLSERVER, parse_sqlserver_url


def test_placeholders_are_rewritten_only_for_format_drivers() -> None:
    sql = "SELECT * FROM t WHERE a LIKE ? AND b = ?"
    assert SQLITE.sql(sql, True) == sql
    assert POSTGRES.sql(sql, True) == "SELECT * FROM t WHERE a LIKE %s AND b = %s"
    assert SQLSERVER.sql("SELECT '100%' WHERE x = ?", True) == "SELECT '100%%' WHERE x = %s"
    assert POSTGRES.sql("SELECT '100%'", False) == "SELECT '100%'"


def test_upsert_and_insert_ignore_forms() -> None:
    updates = {"summary": "COALESCE({new}.summary, {old}.summary)"}
    assert POSTGRES.upsert("projects", ("k", "summary"), ("k",), updates) == (
        "INSERT INTO projects (k, summary) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET "
        "summary = COALESCE(excluded.summary, projects.summary)"
    )
    merge = SQLSERVER.upsert("projects", ("k", "summary"), ("k",), updates)
    assert merge.startswith("MERGE INTO projects WITH (HOLDLOCK) AS tgt USING (SELECT ? AS k, ? AS summary) AS src")
    assert "WHEN MATCHED THEN UPDATE SET summary = COALESCE(src.summary, tgt.summary)" in merge
    assert merge.endswith("WHEN NOT MATCHED THEN INSERT (k, summary) VALUES (src.k, src.summary);")
    assert SQLITE.insert_ignore("r", ("a", "b"), ("a",)).endswith("ON CONFLICT (a) DO NOTHING")
    assert "WHEN MATCHED" not in SQLSERVER.insert_ignore("r", ("a", "b"), ("a",))
    assert SQLITE.page(10, 20) == ("LIMIT ? OFFSET ?", (10, 20))
    assert SQLSERVER.page(10, 20) == ("OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", (20, 10))


def test_every_sqlite_migration_exists_for_every_dialect() -> None:
    sqlite_ids = [migration_id for migration_id, _ in load_migrations("sqlite")]
    for dialect in ("postgres", "sqlserver"):
        assert [migration_id for migration_id, _ in load_migrations(dialect)] == sqlite_ids
    postgres = dict(load_migrations("postgres"))
    assert "BIGINT" in postgres["0001_core"] and "INTEGER" not in postgres["0001_core"]


def test_split_statements_skips_comment_only_parts() -> None:
    script = "-- header\nCREATE TABLE a (x TEXT);\n-- trailing note\n;\nINSERT INTO a VALUES ('y');\n"
    assert split_statements(script) == ["-- header\nCREATE TABLE a (x TEXT)", "INSERT INTO a VALUES ('y')"]


def test_split_statements_keeps_a_dollar_quoted_function_body_whole() -> None:
    body = "$$\nBEGIN\n    PERFORM pg_notify('c', 'x');\n    RETURN NULL;\nEND\n$$"
    script = f"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS {body};\nCREATE TRIGGER t AFTER UPDATE ON a;\n"
    assert split_statements(script) == [
        f"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS {body}",
        "CREATE TRIGGER t AFTER UPDATE ON a",
    ]


def test_the_postgres_only_step_is_a_no_op_elsewhere() -> None:
    for dialect in ("sqlite", "sqlserver"):
        assert split_statements(dict(load_migrations(dialect))["2000_change_notifications"]) == []
    function, triggers = split_statements(dict(load_migrations("postgres"))["2000_change_notifications"])
    assert function.endswith("END\n$$") and triggers.startswith("DO $$") and triggers.endswith("END\n$$")


def test_sqlserver_urls() -> None:
    target = parse_sqlserver_url(
        "sqlserver://sa:Pyregistry123!@127.0.0.1:1433/pyregistry?trust_server_certificate=true"
    )
    assert (target.host, target.port, target.user, target.password, target.database) == (
        "127.0.0.1",
        1433,
        "sa",
        "Pyregistry123!",
        "pyregistry",
    )
    assert parse_sqlserver_url("mssql://u:p%40ss@db/x?encrypt=true").encrypt is True
    for bad in ["postgres://u@h/db", "sqlserver://h/db", "sqlserver://u:p@h"]:
        with pytest.raises(ValueError):
            parse_sqlserver_url(bad)


def test_blocking_pool_reuses_limits_and_times_out() -> None:
    opened: list[list[str]] = []
    closed: list[list[str]] = []

    def connect() -> list[str]:
        conn: list[str] = []
        opened.append(conn)
        return conn

    pool = BlockingPool(connect, closed.append, min_size=1, max_size=2, timeout=0.3, discard_on=(ConnectionError,))
    assert len(opened) == 1
    with pool.connection() as first, pool.connection() as second:
        assert first is not second and pool.size == 2
        started = time.monotonic()
        with pytest.raises(PoolExhausted, match=r"within 0.3s \(max 2\)"), pool.connection():
            pass
        assert time.monotonic() - started >= 0.25
    with pytest.raises(ConnectionError), pool.connection():
        raise ConnectionError("broken")
    assert len(closed) == 1 and pool.size == 1

    got: list[list[str]] = []
    with pool.connection() as busy:
        waiter = threading.Thread(target=lambda: got.append(pool._acquire(5)))
        with pool.connection():
            waiter.start()
            time.sleep(0.1)
        waiter.join(5)
    assert got and got[0] is not busy
    pool.close()


def test_passwords_are_redacted_from_connection_strings() -> None:
    assert redact_url("postgres://u:p%40ss@h:5/db") == "postgres://u:***@h:5/db"
    assert redact_url("host=h user=u password=secret dbname=d") == "host=h user=u password=*** dbname=d"
    assert (
        redact_url("postgres://u@h/db?password=zz&sslmode=require") == "postgres://u@h/db?password=***&sslmode=require"
    )
    assert redact_url("postgres://u@h/db") == "postgres://u@h/db"


def test_sqlite_store_keeps_its_driver_conveniences(tmp_path: Path) -> None:
    store = SqliteDatabase(tmp_path / "db.sqlite3")
    with store.write() as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        before = conn.total_changes
        conn.execute("INSERT INTO notes (body) VALUES (:body)", {"body": "named"})
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [("a",), ("b",)])
        assert conn.total_changes - before == 3
    assert [row["body"] for row in store.rows("SELECT body FROM notes ORDER BY id")] == ["named", "a", "b"]
    assert store.row("SELECT COUNT(*) AS n FROM notes WHERE body = :b", {"b": "a"}) == {"n": 1}
    store.close()


def test_named_parameters_are_refused_outside_sqlite() -> None:
    with pytest.raises(TypeError, match="named parameters are SQLite-only"):
        SqlConnection(object(), POSTGRES).execute("SELECT :x", {"x": 1})
