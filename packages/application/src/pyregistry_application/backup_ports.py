"""Ports for backups: a metadata store that can export and load every table as plain rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

__all__ = ["MetadataArchive", "Row", "TableRows"]

Row = dict[str, str | int | float | None]
"""One table row: column name to a JSON scalar (booleans are 0/1 integers, times ISO 8601 text)."""

TableRows = tuple[str, Iterator[Row]]
"""A table name and its rows."""


class MetadataArchive(Protocol):
    """Exports and loads the metadata store table by table, in an order that satisfies foreign keys."""

    @property
    def database(self) -> str:
        """The engine's name ("sqlite", "postgres", "sqlserver")."""
        ...

    def applied_migrations(self) -> list[str]:
        """Ids of the schema migrations the store has applied."""
        ...

    def snapshot(self) -> AbstractContextManager[Iterator[TableRows]]:
        """Every backed-up table, read inside one read transaction (one consistent snapshot)."""
        ...

    def non_empty_tables(self) -> dict[str, int]:
        """Backed-up tables that hold rows (ignoring the seeded serial counter), with their row counts."""
        ...

    def load(self, tables: Iterable[TableRows]) -> dict[str, int]:
        """Insert every row in one transaction (the store must be empty); return the row count per table."""
        ...
