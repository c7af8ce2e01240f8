"""``pyregistry restore``: a backup loaded into an empty deployment, every blob checked against its sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from pyregistry_application.backup_format import (
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    BackupManifest,
    BlobEntry,
    Progress,
    file_sha256,
    no_progress,
    safe_blob_path,
)
from pyregistry_application.backup_ports import MetadataArchive, Row, TableRows
from pyregistry_application.blob_records import blob_sha256
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.errors import Conflict, ValidationFailed

__all__ = ["RegistryRestore", "RestoreReport"]


class RestoreReport(msgspec.Struct, frozen=True):
    """The outcome of ``pyregistry restore``."""

    tables: dict[str, int]
    blob_count: int
    blob_bytes: int
    blobs_copied: bool


class RegistryRestore:
    """Loads a backup into an empty metadata store and artifact storage, checking every blob's sha256."""

    def __init__(self, archive: MetadataArchive, storage: ArtifactStorage) -> None:
        self._archive = archive
        self._storage = storage

    def run(self, directory: Path, progress: Progress = no_progress) -> RestoreReport:
        """Refuse a bad backup or a non-empty target before writing anything, then copy blobs and load rows."""
        manifest = self._manifest(directory)
        self._check_target(manifest)
        entries = self._entries(directory)
        if manifest.blobs == "copy":
            self._check_backup_blobs(directory, entries)
            copied = self._copy_blobs(directory, entries, progress)
        else:
            self._check_referenced_blobs(entries)
            copied = []
        try:
            tables = self._archive.load(self._tables(directory, manifest))
        except BaseException:
            for key in copied:
                self._storage.delete(key)
            raise
        progress(f"metadata: {sum(tables.values())} row(s) in {len(tables)} table(s)")
        return RestoreReport(
            tables=tables,
            blob_count=len(entries),
            blob_bytes=sum(entry.size for entry in entries),
            blobs_copied=manifest.blobs == "copy",
        )

    @staticmethod
    def _manifest(directory: Path) -> BackupManifest:
        path = directory / "manifest.json"
        if not path.is_file():
            raise ValidationFailed(f"{path} does not exist: not a pyregistry backup, or an interrupted one")
        try:
            manifest = msgspec.json.decode(path.read_bytes(), type=BackupManifest)
        except msgspec.DecodeError as exc:
            raise ValidationFailed(f"{path} is not a valid backup manifest: {exc}") from None
        if manifest.format != FORMAT or manifest.version > FORMAT_VERSION:
            raise ValidationFailed(
                f"{path} is format {manifest.format!r} version {manifest.version}; this pyregistry reads "
                f"{FORMAT!r} up to version {FORMAT_VERSION}"
            )
        return manifest

    def _check_target(self, manifest: BackupManifest) -> None:
        unknown = sorted(set(manifest.migrations) - set(self._archive.applied_migrations()))
        if unknown:
            raise ValidationFailed(
                f"the backup comes from a newer schema (migrations {', '.join(unknown)}): upgrade pyregistry first"
            )
        filled = self._archive.non_empty_tables()
        if filled:
            described = ", ".join(f"{table} ({count} rows)" for table, count in filled.items())
            raise Conflict(f"the target metadata store is not empty: {described}; restore into an empty deployment")
        if manifest.blobs == "copy":
            first = next(iter(self._storage.list_keys()), None)
            if first is not None:
                raise Conflict(
                    f"the target artifact storage is not empty (it holds {first}); restore into empty storage"
                )

    @staticmethod
    def _entries(directory: Path) -> list[BlobEntry]:
        path = directory / "blobs.jsonl"
        decoder = msgspec.json.Decoder(BlobEntry)
        try:
            entries = [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]
        except (OSError, msgspec.DecodeError) as exc:
            raise ValidationFailed(f"{path} cannot be read: {exc}") from None
        for entry in entries:
            safe_blob_path(directory, entry.key)
        return entries

    @staticmethod
    def _check_backup_blobs(directory: Path, entries: list[BlobEntry]) -> None:
        problems: list[str] = []
        for entry in entries:
            path = safe_blob_path(directory / "blobs", entry.key)
            if not path.is_file():
                problems.append(f"blobs/{entry.key} is missing")
                continue
            sha256, size = file_sha256(path)
            if sha256 != entry.sha256 or size != entry.size:
                problems.append(
                    f"blobs/{entry.key} is corrupted (sha256 {sha256}, {size} bytes; "
                    f"the manifest says {entry.sha256}, {entry.size} bytes)"
                )
        if problems:
            raise ValidationFailed("the backup is damaged, nothing was restored: " + "; ".join(problems))

    def _copy_blobs(self, directory: Path, entries: list[BlobEntry], progress: Progress) -> list[str]:
        copied: list[str] = []
        try:
            for number, entry in enumerate(entries, start=1):
                self._copy_one(safe_blob_path(directory / "blobs", entry.key), entry)
                copied.append(entry.key)
                if number % 500 == 0:
                    progress(f"blobs: {number}/{len(entries)}")
        except BaseException:
            for key in copied:
                self._storage.delete(key)
            raise
        progress(f"blobs: {len(entries)} copied and checked")
        return copied

    def _copy_one(self, source: Path, entry: BlobEntry) -> None:
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            with source.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    yield chunk

        self._storage.put_stream(entry.key, chunks())
        if digest.hexdigest() != entry.sha256:
            self._storage.delete(entry.key)
            raise ValidationFailed(f"blobs/{entry.key} changed while it was copied; nothing was restored")

    def _check_referenced_blobs(self, entries: list[BlobEntry]) -> None:
        problems: list[str] = []
        for entry in entries:
            if self._storage.stat(entry.key) is None:
                problems.append(f"{entry.key} is missing from the target storage")
            elif blob_sha256(self._storage, entry.key)[0] != entry.sha256:
                problems.append(f"{entry.key} in the target storage has another sha256 than the backup records")
        if problems:
            raise ValidationFailed("a reference backup needs its blobs in the target storage: " + "; ".join(problems))

    @staticmethod
    def _tables(directory: Path, manifest: BackupManifest) -> Iterator[TableRows]:
        decoder = msgspec.json.Decoder(dict[str, str | int | float | None])
        for table in manifest.tables:
            path = directory / "metadata" / f"{table}.jsonl"
            if not path.is_file():
                raise ValidationFailed(f"{path} is missing from the backup")
            yield table, _rows(path, decoder)


def _rows(path: Path, decoder: msgspec.json.Decoder[Row]) -> Iterator[Row]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise ValidationFailed(f"{path} line {number} is not a valid row: {exc}") from None
