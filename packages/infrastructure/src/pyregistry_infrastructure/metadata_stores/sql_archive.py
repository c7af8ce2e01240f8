"""Table-by-table export and load of a SQL store, for ``pyregistry backup`` and ``pyregistry restore``.

The tables and columns come from the portable migrations, so every SQL engine exports the same rows and a
backup taken on one engine loads into another. Admin sessions are left out (a restored registry starts with no
one logged in) and so is the migrations table (the target applies its own).
"""

# Table and column names come from our migration files, never from input.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pyregistry_application.backup_ports import Row, TableRows
from pyregistry_domain.errors import ValidationFailed
from pyregistry_infrastructure.metadata_stores.schema_migrations import portable_tables
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, SqlDatabase

__all__ = ["SKIPPED_TABLES", "SqlMetadataArchive"]

SKIPPED_TABLES = frozenset({"admin_sessions", "schema_migrations"})
_SEEDED = "serial_counter"
_FETCH = 1000


class SqlMetadataArchive:
    """Implements :class:`MetadataArchive` over any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._tables = {name: columns for name, columns in portable_tables().items() if name not in SKIPPED_TABLES}

    @property
    def database(self) -> str:
        return self._db.dialect.name

    def applied_migrations(self) -> list[str]:
        return self._db.applied_migrations()

    @contextmanager
    def snapshot(self) -> Iterator[Iterator[TableRows]]:
        dialect = self._db.dialect
        with self._db.connection() as raw:
            conn = SqlConnection(raw, dialect)
            conn.execute(dialect.snapshot_begin_sql)
            try:
                yield ((table, self._rows(conn, table, columns)) for table, columns in self._tables.items())
            finally:
                conn.execute("COMMIT")
                if dialect.snapshot_end_sql:
                    conn.execute(dialect.snapshot_end_sql)

    @staticmethod
    def _rows(conn: SqlConnection, table: str, columns: list[str]) -> Iterator[Row]:
        cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}")
        while batch := cursor.fetchmany(_FETCH):
            for values in batch:
                yield dict(zip(columns, values, strict=True))

    def non_empty_tables(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in self._tables:
            if table == _SEEDED:
                continue
            row = self._db.row(f"SELECT COUNT(*) AS n FROM {table}")
            if row is not None and int(row["n"]):
                counts[table] = int(row["n"])
        return counts

    def load(self, tables: Iterable[TableRows]) -> dict[str, int]:
        loaded: dict[str, int] = {}
        with self._db.write() as conn:
            for table, rows in tables:
                known = self._tables.get(table)
                if known is None:
                    raise ValidationFailed(f"the backup has a table {table!r} this version does not know")
                if table == _SEEDED:
                    conn.execute(f"DELETE FROM {table}")
                loaded[table] = self._insert(conn, table, known, rows)
        return loaded

    @staticmethod
    def _insert(conn: SqlConnection, table: str, known: list[str], rows: Iterable[Row]) -> int:
        count = 0
        statements: dict[tuple[str, ...], str] = {}
        for row in rows:
            columns = tuple(row)
            unknown = [column for column in columns if column not in known]
            if unknown:
                raise ValidationFailed(f"the backup's table {table!r} has unknown column(s) {', '.join(unknown)}")
            sql = statements.get(columns)
            if sql is None:
                marks = ", ".join("?" for _ in columns)
                sql = statements[columns] = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            values: list[Any] = [row[column] for column in columns]
            conn.execute(sql, values)
            count += 1
        return count
