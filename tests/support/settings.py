"""Settings for in-process runtimes in tests: SQLite metadata (by default) and filesystem blobs under one directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyregistry_infrastructure.settings import Settings, SqliteSettings

__all__ = ["runtime_settings"]


def runtime_settings(root: Path, **overrides: Any) -> Settings:
    """Settings with the data, the SQLite database and the blobs under ``root`` and fixed test secrets.

    ``overrides`` replace any of these (``database_store="memory"`` for a store without files).
    """
    values: dict[str, Any] = {
        "data_dir": str(root / "data"),
        "blob_root": str(root / "blobs"),
        "database_store": "sqlite",
        "superadmin_password": "admin-password-for-tests",
        "cookie_secret": "cookie-secret-for-tests-cookie-secret-for-tests",
        "sqlite": SqliteSettings(path=str(root / "data" / "registry.sqlite3")),
    }
    return Settings(**{**values, **overrides})
