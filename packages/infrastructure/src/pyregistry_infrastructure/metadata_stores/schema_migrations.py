"""Versioned schema migrations for every SQL store, one ``NNNN_name.sql`` file per step, applied in id order.

The rule for adding a table or column, so the three databases stay in step:

* Write ``migrations/sqlite/NNNN_name.sql`` in portable SQL: ``TEXT`` / ``INTEGER`` / ``REAL`` / ``BLOB``
  columns (booleans are ``INTEGER`` 0/1, times are ``TEXT`` from ``rows.dump_time``), ``PRIMARY KEY`` /
  ``UNIQUE`` / ``REFERENCES`` / ``CHECK`` / ``DEFAULT``, ``CREATE [UNIQUE] INDEX``, ``ALTER TABLE ... ADD COLUMN``,
  statements separated by ``;``. No ``AUTOINCREMENT``, ``INSERT OR ...``, ``WITHOUT ROWID``, ``PRAGMA`` or SQLite
  date functions (the loader refuses them and names the file).
* PostgreSQL and SQL Server versions are derived from that file mechanically (``schema_translation`` documents
  the type mapping); nothing else to write. When a step needs database-specific SQL, a file with the same name in
  ``migrations/postgres/`` or ``migrations/sqlserver/`` replaces the derived version of that step.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable

from pyregistry_infrastructure.metadata_stores.schema_translation import (
    KeyColumns,
    TranslationError,
    collect_key_columns,
    table_columns,
    to_postgres,
    to_sqlserver,
)

__all__ = ["MigrationNotPortable", "load_migrations", "portable_tables", "split_statements"]

_SQLITE_ONLY = re.compile(r"AUTOINCREMENT|INSERT\s+OR\s|WITHOUT\s+ROWID|PRAGMA|datetime\(|strftime\(", re.IGNORECASE)


class MigrationNotPortable(Exception):
    """A migration step has no version for this database; the message says which file to write."""


def _folder(dialect: str) -> Traversable:
    return resources.files("pyregistry_infrastructure.metadata_stores") / "migrations" / dialect


def _scripts(dialect: str) -> dict[str, str]:
    folder = _folder(dialect)
    if not folder.is_dir():
        return {}
    return {
        entry.name.removesuffix(".sql"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }


def _derive(dialect: str, migration_id: str, script: str, keys: KeyColumns, widths: dict[str, dict[str, int]]) -> str:
    hint = f"write migrations/{dialect}/{migration_id}.sql"
    if _SQLITE_ONLY.search(script):
        raise MigrationNotPortable(f"migration {migration_id} uses SQLite-only SQL; {hint}")
    try:
        if dialect == "postgres":
            statements = [to_postgres(statement) for statement in split_statements(script)]
        else:
            statements = [to_sqlserver(statement, keys, widths) for statement in split_statements(script)]
    except TranslationError as exc:
        raise MigrationNotPortable(f"migration {migration_id}: {exc}; {hint}") from None
    return ";\n".join(statements) + ";\n"


def load_migrations(dialect: str = "sqlite") -> list[tuple[str, str]]:
    """``(id, script)`` pairs for ``dialect`` ("sqlite", "postgres" or "sqlserver"), sorted by id."""
    portable = _scripts("sqlite")
    if dialect == "sqlite":
        return sorted(portable.items())
    if dialect not in {"postgres", "sqlserver"}:
        raise MigrationNotPortable(f"no schema migrations for database {dialect!r}")
    own = _scripts(dialect)
    keys = collect_key_columns(
        statement for _, script in sorted(portable.items()) for statement in split_statements(script)
    )
    widths: dict[str, dict[str, int]] = {}
    return [
        (
            migration_id,
            own[migration_id]
            if migration_id in own
            else _derive(dialect, migration_id, portable[migration_id], keys, widths),
        )
        for migration_id in sorted(portable.keys() | own.keys())
    ]


def portable_tables() -> dict[str, list[str]]:
    """Every table of the schema in creation order (parents before the tables referencing them), with columns."""
    return table_columns(statement for _, script in load_migrations("sqlite") for statement in split_statements(script))


def split_statements(script: str) -> list[str]:
    """The ``;``-separated statements of a script, without empty or comment-only parts; a ``;`` between ``$$``
    marks (a PostgreSQL function body) belongs to its statement."""
    statements = []
    for part in _top_level_parts(script):
        code = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            statements.append(part.strip())
    return statements


def _top_level_parts(script: str) -> list[str]:
    """``script`` cut at each ``;`` outside ``$$``-quoted text."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for piece in re.split(r"(\$\$)", script):
        if piece == "$$" or quoted:
            quoted ^= piece == "$$"
            current.append(piece)
            continue
        first, *rest = piece.split(";")
        current.append(first)
        for chunk in rest:
            parts.append("".join(current))
            current = [chunk]
    parts.append("".join(current))
    return parts
