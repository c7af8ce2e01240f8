"""SQLite schema migrations: every ``migrations/sqlite/NNNN_name.sql`` file, applied once in name order."""

from __future__ import annotations

from pyregistry_infrastructure.metadata_stores.schema_migrations import load_migrations

__all__ = ["load_migrations"]
