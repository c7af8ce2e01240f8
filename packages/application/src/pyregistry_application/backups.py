"""``pyregistry backup``: a consistent snapshot of the metadata plus the blobs (layout in ``backup_format``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from pyregistry_application.backup_format import (
    FORMAT,
    FORMAT_VERSION,
    BackupManifest,
    BlobEntry,
    BlobMode,
    Progress,
    no_progress,
    safe_blob_path,
)
from pyregistry_application.backup_ports import MetadataArchive, Row
from pyregistry_application.blob_records import recorded_blobs
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_domain.errors import Conflict, NotFound

__all__ = ["BackupReport", "RegistryBackup"]


class BackupReport(msgspec.Struct, frozen=True):
    """The outcome of ``pyregistry backup``."""

    directory: str
    tables: dict[str, int]
    blobs: BlobMode
    blob_count: int
    blob_bytes: int


class RegistryBackup:
    """Writes a backup of the metadata store and artifact storage into an empty directory."""

    def __init__(self, archive: MetadataArchive, storage: ArtifactStorage, clock: Clock) -> None:
        self._archive = archive
        self._storage = storage
        self._clock = clock

    def run(self, directory: Path, mode: BlobMode, progress: Progress = no_progress) -> BackupReport:
        """Snapshot the metadata, then copy (or only hash) every blob its file records refer to."""
        if directory.exists() and any(directory.iterdir()):
            raise Conflict(f"{directory} is not empty: back up into a new or empty directory")
        (directory / "metadata").mkdir(parents=True, exist_ok=True)
        files: list[Row] = []
        tables: dict[str, int] = {}
        migrations = self._archive.applied_migrations()
        with self._archive.snapshot() as snapshot:
            for table, rows in snapshot:
                tables[table] = self._write_table(directory / "metadata" / f"{table}.jsonl", rows, files, table)
                progress(f"metadata {table}: {tables[table]} row(s)")
        entries = self._blobs(directory, files, mode, progress)
        with (directory / "blobs.jsonl").open("wb") as out:
            for entry in entries:
                out.write(msgspec.json.encode(entry) + b"\n")
        manifest = BackupManifest(
            format=FORMAT,
            version=FORMAT_VERSION,
            created_at=self._clock.now(),
            database=self._archive.database,
            migrations=migrations,
            tables=tables,
            blobs=mode,
            blob_count=len(entries),
            blob_bytes=sum(entry.size for entry in entries),
        )
        (directory / "manifest.json").write_bytes(msgspec.json.format(msgspec.json.encode(manifest), indent=2))
        return BackupReport(
            directory=str(directory),
            tables=tables,
            blobs=mode,
            blob_count=manifest.blob_count,
            blob_bytes=manifest.blob_bytes,
        )

    @staticmethod
    def _write_table(path: Path, rows: Iterator[Row], files: list[Row], table: str) -> int:
        count = 0
        with path.open("wb") as out:
            for row in rows:
                out.write(msgspec.json.encode(row) + b"\n")
                if table == "release_files":
                    files.append(row)
                count += 1
        return count

    def _blobs(self, directory: Path, files: list[Row], mode: BlobMode, progress: Progress) -> list[BlobEntry]:
        entries: list[BlobEntry] = []
        for number, row in enumerate(files, start=1):
            for blob in recorded_blobs(
                filename=str(row["filename"]),
                blob_key=str(row["blob_key"]),
                sha256=str(row["sha256"]),
                origin=str(row["origin"]),
                cached=bool(row["cached"]),
                metadata_sha256=None if row["metadata_sha256"] is None else str(row["metadata_sha256"]),
                has_provenance=bool(row["has_provenance"]),
            ):
                if self._storage.stat(blob.key) is None:
                    if blob.required:
                        raise NotFound(f"blob {blob.key} of {blob.label} is missing from artifact storage")
                    continue
                entries.append(self._copy(directory, blob.key, mode))
            if number % 500 == 0:
                progress(f"blobs: {len(entries)} of {number}/{len(files)} file(s)")
        progress(f"blobs: {len(entries)} ({mode})")
        return entries

    def _copy(self, directory: Path, key: str, mode: BlobMode) -> BlobEntry:
        digest = hashlib.sha256()
        size = 0
        if mode == "reference":
            for chunk in self._storage.iter_chunks(key):
                digest.update(chunk)
                size += len(chunk)
            return BlobEntry(key=key, sha256=digest.hexdigest(), size=size)
        target = safe_blob_path(directory / "blobs", key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for chunk in self._storage.iter_chunks(key):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return BlobEntry(key=key, sha256=digest.hexdigest(), size=size)
