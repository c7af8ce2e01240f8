"""The few SQL forms that differ between SQLite, PostgreSQL and SQL Server.

Store code is written once with ``?`` placeholders and portable SQL; a :class:`Dialect` rewrites placeholders
for the driver and builds the statements that have no common spelling (upsert, insert-if-absent, the serial
counter, pagination, the migration lock) and tells unique-constraint violations apart from other errors.
"""

from __future__ import annotations

# Table and column names passed to these builders are constants in store code, never request input.
# ruff: noqa: S608
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Dialect"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells the non-portable parts."""

    name: str
    paramstyle: str  # "qmark" keeps ``?``; "format" rewrites to ``%s`` (psycopg, pymssql)
    merge_style: Literal["on_conflict", "merge"]  # SQLite and PostgreSQL, or SQL Server
    begin_sql: str
    next_serial_sql: str
    migration_lock_sql: str | None
    migrations_table_sql: str
    integrity_errors: tuple[type[BaseException], ...]
    unique_violation: Callable[[BaseException], bool]
    snapshot_begin_sql: str = "BEGIN"
    """Starts a read transaction that sees one consistent snapshot for all its statements (backups)."""
    snapshot_end_sql: str | None = None
    """Run after that transaction ends, to restore the connection's usual isolation level."""

    def sql(self, text: str, has_params: bool) -> str:
        """``text`` with ``?`` placeholders rewritten for the driver (``%`` escaped when parameters are bound)."""
        if self.paramstyle == "qmark" or not has_params:
            return text
        return text.replace("%", "%%").replace("?", "%s")

    def is_unique_violation(self, error: BaseException) -> bool:
        """True when ``error`` is a primary-key or unique-constraint violation."""
        return isinstance(error, self.integrity_errors) and self.unique_violation(error)

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str], updates: Mapping[str, str]) -> str:
        """Insert a row or update the existing one with the same ``keys``, atomically.

        ``updates`` maps a column to an expression in which ``{new}`` names the proposed row and ``{old}`` the
        stored one, e.g. ``{"summary": "COALESCE({new}.summary, {old}.summary)"}``.
        """
        if self.merge_style == "merge":
            assignments = ", ".join(f"{col} = {expr.format(new='src', old='tgt')}" for col, expr in updates.items())
            return self._merge(table, columns, keys, f"WHEN MATCHED THEN UPDATE SET {assignments}")
        assignments = ", ".join(f"{col} = {expr.format(new='excluded', old=table)}" for col, expr in updates.items())
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {assignments}"
        )

    def insert_ignore(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """Insert a row unless one with the same ``keys`` exists (other constraint errors still raise)."""
        if self.merge_style == "merge":
            return self._merge(table, columns, keys, "")
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        )

    def page(self, limit: int, offset: int) -> tuple[str, tuple[Any, ...]]:
        """The clause (after ``ORDER BY``) and its parameters that select one page of rows."""
        if self.merge_style == "merge":
            return "OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", (offset, limit)
        return "LIMIT ? OFFSET ?", (limit, offset)

    @staticmethod
    def _merge(table: str, columns: Sequence[str], keys: Sequence[str], matched: str) -> str:
        source = ", ".join(f"? AS {col}" for col in columns)
        on = " AND ".join(f"tgt.{key} = src.{key}" for key in keys)
        values = ", ".join(f"src.{col}" for col in columns)
        return (
            f"MERGE INTO {table} WITH (HOLDLOCK) AS tgt USING (SELECT {source}) AS src ON {on} {matched} "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values});"
        )
