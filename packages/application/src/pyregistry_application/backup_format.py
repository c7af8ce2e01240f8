"""The backup directory format shared by ``pyregistry backup`` and ``pyregistry restore``.

Layout of a backup directory (format version 1)::

    manifest.json            format, version, source engine, migrations, row counts, blob mode and totals
    metadata/<table>.jsonl   one JSON object per row, tables in foreign-key order
    blobs.jsonl              one {"key", "sha256", "size"} per blob the records refer to
    blobs/<key>              the blob bytes (``copy`` mode; ``reference`` mode leaves them in storage)

The manifest is written last: a directory without one is an interrupted backup and is refused by restore.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

from pyregistry_domain.errors import ValidationFailed

__all__ = [
    "CHUNK",
    "FORMAT",
    "FORMAT_VERSION",
    "BackupManifest",
    "BlobEntry",
    "BlobMode",
    "Progress",
    "file_sha256",
    "no_progress",
    "safe_blob_path",
]

FORMAT = "pyregistry-backup"
FORMAT_VERSION = 1
BlobMode = Literal["copy", "reference"]
Progress = Callable[[str], None]
CHUNK = 1024 * 1024


class BlobEntry(msgspec.Struct, frozen=True):
    """One blob of the backup."""

    key: str
    sha256: str
    size: int


class BackupManifest(msgspec.Struct, frozen=True):
    """What a backup holds; restore checks it before touching the target."""

    format: str
    version: int
    created_at: datetime
    database: str
    migrations: list[str]
    tables: dict[str, int]
    blobs: BlobMode
    blob_count: int
    blob_bytes: int


def safe_blob_path(root: Path, key: str) -> Path:
    """Where blob ``key`` lives under ``root``; a key that could leave it is refused."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise ValidationFailed(f"the backup names an unsafe blob key {key!r}")
    return root.joinpath(*parts)


def file_sha256(path: Path) -> tuple[str, int]:
    """The sha256 and size of a local file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def no_progress(_: str) -> None:
    """Progress callback that prints nothing."""
    return None
