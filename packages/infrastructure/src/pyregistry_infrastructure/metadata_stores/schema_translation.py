"""Mechanical translation of the portable (SQLite) migration files to PostgreSQL and SQL Server DDL.

Input vocabulary (see ``schema_migrations``): ``CREATE TABLE [IF NOT EXISTS]`` with ``TEXT`` / ``INTEGER`` /
``REAL`` / ``BLOB`` columns, inline or table-level ``PRIMARY KEY`` / ``UNIQUE`` / ``REFERENCES`` / ``CHECK`` /
``DEFAULT``, ``ALTER TABLE ... ADD COLUMN``, ``CREATE [UNIQUE] INDEX [IF NOT EXISTS]``, and plain DML.

* PostgreSQL: ``INTEGER`` -> ``BIGINT``, ``REAL`` -> ``DOUBLE PRECISION``, ``BLOB`` -> ``BYTEA``; the rest as is.
* SQL Server: ``INTEGER`` -> ``BIGINT``, ``REAL`` -> ``FLOAT``, ``BLOB`` -> ``VARBINARY(MAX)``. ``TEXT`` becomes
  ``NVARCHAR(n)`` when the column is part of a primary key, unique constraint, index or foreign key in any
  migration (``n`` from its name: ids 64, timestamps 40, versions 128, names 200, e-mails 320, filenames 255,
  otherwise 255; a referencing column takes the referenced column's length), columns ending in ``_at`` become
  ``NVARCHAR(40)``, and other ``TEXT`` becomes ``NVARCHAR(MAX)``. Primary-key columns get ``NOT NULL``;
  ``ADD COLUMN`` loses ``COLUMN``; ``IF NOT EXISTS`` becomes an ``OBJECT_ID`` / ``sys.indexes`` guard. A key wider
  than SQL Server allows (900 bytes for a primary key, 1700 for other indexes) is refused with the file named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["KeyColumns", "TranslationError", "collect_key_columns", "table_columns", "to_postgres", "to_sqlserver"]

_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*$", re.I | re.S)
_ALTER_ADD = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(.*)$", re.I | re.S)
_CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(\w+)\s*\(([^)]*)\)(.*)$", re.I | re.S
)
_REFERENCES = re.compile(r"REFERENCES\s+(\w+)\s*\(([^)]*)\)", re.I)
_TABLE_CONSTRAINT = re.compile(r"^(PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CHECK|CONSTRAINT)\b", re.I)
_POSTGRES_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA"}
_SQLSERVER_TYPES = {"INTEGER": "BIGINT", "REAL": "FLOAT", "BLOB": "VARBINARY(MAX)"}
_PRIMARY_KEY_LIMIT = 900
_INDEX_LIMIT = 1700


class TranslationError(ValueError):
    """The statement cannot be translated mechanically."""


def _split_top_level(body: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def _names(column_list: str) -> list[str]:
    return [part.strip().split()[0].lower() for part in column_list.split(",") if part.strip()]


def _text_length(column: str) -> int:
    name = column.lower()
    rules = [
        (name.endswith("filename"), 255),
        (name == "version" or name.endswith("_version"), 128),
        (name in {"email", "actor"} or name.endswith("_email"), 320),
        (name.endswith("sha256"), 64),
        (name == "id" or name.endswith("_id"), 64),
        (name.endswith("_at"), 40),
        (name in {"slug", "name"} or name.endswith("_name"), 200),
    ]
    return next((length for matched, length in rules if matched), 255)


@dataclass
class KeyColumns:
    """Every ``(table, column)`` used in a key, index or reference, and the lengths references impose."""

    keys: set[tuple[str, str]] = field(default_factory=set)
    inherited: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def length(self, table: str, column: str) -> int:
        seen: set[tuple[str, str]] = set()
        current = (table.lower(), column.lower())
        while current in self.inherited and current not in seen:
            seen.add(current)
            current = self.inherited[current]
        return _text_length(current[1])


def _scan_table(table: str, items: Iterable[str], found: KeyColumns) -> None:
    for item in items:
        lowered = item.lower()
        if _TABLE_CONSTRAINT.match(item):
            head = item[: item.upper().find("REFERENCES")] if "REFERENCES" in item.upper() else item
            columns = re.search(r"\(([^)]*)\)", head)
            if columns and not lowered.startswith("check"):
                found.keys.update((table, column) for column in _names(columns.group(1)))
            reference = _REFERENCES.search(item)
            if reference and columns:
                parent, parent_columns = reference.group(1).lower(), _names(reference.group(2))
                found.keys.update((parent, column) for column in parent_columns)
                for child, parent_column in zip(_names(columns.group(1)), parent_columns, strict=False):
                    found.inherited[(table, child)] = (parent, parent_column)
            continue
        column = item.split()[0].lower()
        if re.search(r"\b(PRIMARY\s+KEY|UNIQUE)\b", item, re.I):
            found.keys.add((table, column))
        reference = _REFERENCES.search(item)
        if reference:
            parent = reference.group(1).lower()
            parent_column = _names(reference.group(2))[0]
            found.keys.update({(table, column), (parent, parent_column)})
            found.inherited[(table, column)] = (parent, parent_column)


def collect_key_columns(statements: Iterable[str]) -> KeyColumns:
    """Scan every statement of every migration for key, index and reference columns."""
    found = KeyColumns()
    for statement in statements:
        code = _strip_comments(statement)
        if table := _CREATE_TABLE.match(code):
            _scan_table(table.group(2).lower(), _split_top_level(table.group(3)), found)
        elif alter := _ALTER_ADD.match(code):
            _scan_table(alter.group(1).lower(), [alter.group(2)], found)
        elif index := _CREATE_INDEX.match(code):
            found.keys.update((index.group(4).lower(), column) for column in _names(index.group(5)))
    return found


def table_columns(statements: Iterable[str]) -> dict[str, list[str]]:
    """Every table the statements create, in creation order, with its columns (``ADD COLUMN`` included)."""
    tables: dict[str, list[str]] = {}
    for statement in statements:
        code = _strip_comments(statement)
        if table := _CREATE_TABLE.match(code):
            items = _split_top_level(table.group(3))
            tables[table.group(2).lower()] = [
                item.split()[0].lower() for item in items if not _TABLE_CONSTRAINT.match(item)
            ]
        elif alter := _ALTER_ADD.match(code):
            tables.setdefault(alter.group(1).lower(), []).append(alter.group(2).split()[0].lower())
    return tables


def _strip_comments(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--")).strip()


def _is_ddl(code: str) -> bool:
    return bool(_CREATE_TABLE.match(code) or _ALTER_ADD.match(code))


def to_postgres(statement: str) -> str:
    """PostgreSQL spelling of one portable statement (only column types differ)."""
    code = _strip_comments(statement)
    if not _is_ddl(code):
        return code
    return re.sub(r"\b(INTEGER|REAL|BLOB)\b", lambda match: _POSTGRES_TYPES[match.group(1).upper()], code)


def _sqlserver_column(table: str, item: str, keys: KeyColumns, primary_key: set[str]) -> tuple[str, int]:
    """The translated column definition and its width in bytes when used in a key."""
    parts = item.split(None, 2)
    column, declared, rest = (
        parts[0],
        parts[1].upper() if len(parts) > 1 else "TEXT",
        parts[2] if len(parts) > 2 else "",
    )
    if declared == "TEXT":
        if (table, column.lower()) in keys.keys:
            length = keys.length(table, column)
            sql_type, width = f"NVARCHAR({length})", 2 * length
        elif column.lower().endswith("_at"):
            sql_type, width = "NVARCHAR(40)", 80
        else:
            sql_type, width = "NVARCHAR(MAX)", 0
    else:
        sql_type, width = _SQLSERVER_TYPES.get(declared, declared), 8
    inline_pk = re.search(r"\bPRIMARY\s+KEY\b", rest, re.I) is not None
    if (inline_pk or column.lower() in primary_key) and not re.search(r"\bNOT\s+NULL\b", rest, re.I):
        rest = f"NOT NULL {rest}".strip()
    return f"{column} {sql_type} {rest}".rstrip(), width


def _check_width(what: str, columns: list[str], widths: dict[str, int], limit: int) -> None:
    total = sum(widths.get(column, 8) for column in columns)
    if total > limit:
        raise TranslationError(f"{what} on ({', '.join(columns)}) is {total} bytes wide; SQL Server allows {limit}")


def to_sqlserver(statement: str, keys: KeyColumns, widths: dict[str, dict[str, int]]) -> str:
    """SQL Server spelling of one portable statement; ``widths`` records column widths per table as tables appear."""
    code = _strip_comments(statement)
    if table_match := _CREATE_TABLE.match(code):
        guarded, table = bool(table_match.group(1)), table_match.group(2)
        items = _split_top_level(table_match.group(3))
        primary_key: set[str] = set()
        for item in items:
            if re.match(r"PRIMARY\s+KEY\s*\(", item, re.I):
                primary_key.update(_names(item[item.index("(") + 1 : item.index(")")]))
        table_widths = widths.setdefault(table.lower(), {})
        translated = []
        for item in items:
            if _TABLE_CONSTRAINT.match(item):
                translated.append(item)
                continue
            definition, width = _sqlserver_column(table.lower(), item, keys, primary_key)
            table_widths[item.split()[0].lower()] = width
            translated.append(definition)
        for item in items:
            if re.match(r"(PRIMARY\s+KEY|UNIQUE)\s*\(", item, re.I):
                limit = _PRIMARY_KEY_LIMIT if item.upper().startswith("PRIMARY") else _INDEX_LIMIT
                _check_width(
                    f"table {table}: key", _names(item[item.index("(") + 1 : item.index(")")]), table_widths, limit
                )
        body = ",\n    ".join(translated)
        create = f"CREATE TABLE {table} (\n    {body}\n)"
        return f"IF OBJECT_ID(N'{table}', N'U') IS NULL {create}" if guarded else create
    if alter := _ALTER_ADD.match(code):
        table = alter.group(1)
        definition, width = _sqlserver_column(table.lower(), alter.group(2).strip(), keys, set())
        widths.setdefault(table.lower(), {})[alter.group(2).split()[0].lower()] = width
        return f"ALTER TABLE {table} ADD {definition}"
    if index := _CREATE_INDEX.match(code):
        unique, index_guarded, name, table, columns, tail = index.groups()
        _check_width(f"index {name}", _names(columns), widths.get(table.lower(), {}), _INDEX_LIMIT)
        create = f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table}({columns}){tail}".rstrip()
        guard = f"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'{name}') "  # noqa: S608 - DDL from our files
        return guard + create if index_guarded else create
    return code
