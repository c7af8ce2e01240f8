"""``pyregistry backup`` and ``pyregistry restore``: a consistent snapshot of the metadata plus the blobs.

Layout of a backup directory (format version 1)::

    manifest.json            format, version, source engine, migrations, row counts, blob mode and totals
    metadata/<table>.jsonl   one JSON object per row, tables in foreign-key order
    blobs.jsonl              one {"key", "sha256", "size"} per blob the records refer to
    blobs/<key>              the blob bytes (``copy`` mode; ``reference`` mode leaves them in storage)

The manifest is written last: a directory without one is an interrupted backup and is refused by restore.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

from pyregistry_application.backup_ports import MetadataArchive, Row, TableRows
from pyregistry_application.blob_records import blob_sha256, recorded_blobs
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_domain.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BackupManifest",
    "BackupReport",
    "BlobEntry",
    "BlobMode",
    "RegistryBackup",
    "RegistryRestore",
    "RestoreReport",
]

FORMAT = "pyregistry-backup"
FORMAT_VERSION = 1
BlobMode = Literal["copy", "reference"]
Progress = Callable[[str], None]
_CHUNK = 1024 * 1024


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


class BackupReport(msgspec.Struct, frozen=True):
    """The outcome of ``pyregistry backup``."""

    directory: str
    tables: dict[str, int]
    blobs: BlobMode
    blob_count: int
    blob_bytes: int


class RestoreReport(msgspec.Struct, frozen=True):
    """The outcome of ``pyregistry restore``."""

    tables: dict[str, int]
    blob_count: int
    blob_bytes: int
    blobs_copied: bool


def _safe_blob_path(root: Path, key: str) -> Path:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise ValidationFailed(f"the backup names an unsafe blob key {key!r}")
    return root.joinpath(*parts)


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _ignore(_: str) -> None:
    return None


class RegistryBackup:
    """Writes a backup of the metadata store and artifact storage into an empty directory."""

    def __init__(self, archive: MetadataArchive, storage: ArtifactStorage, clock: Clock) -> None:
        self._archive = archive
        self._storage = storage
        self._clock = clock

    def run(self, directory: Path, mode: BlobMode, progress: Progress = _ignore) -> BackupReport:
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
        target = _safe_blob_path(directory / "blobs", key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for chunk in self._storage.iter_chunks(key):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return BlobEntry(key=key, sha256=digest.hexdigest(), size=size)


class RegistryRestore:
    """Loads a backup into an empty metadata store and artifact storage, checking every blob's sha256."""

    def __init__(self, archive: MetadataArchive, storage: ArtifactStorage) -> None:
        self._archive = archive
        self._storage = storage

    def run(self, directory: Path, progress: Progress = _ignore) -> RestoreReport:
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
            _safe_blob_path(directory, entry.key)
        return entries

    @staticmethod
    def _check_backup_blobs(directory: Path, entries: list[BlobEntry]) -> None:
        problems: list[str] = []
        for entry in entries:
            path = _safe_blob_path(directory / "blobs", entry.key)
            if not path.is_file():
                problems.append(f"blobs/{entry.key} is missing")
                continue
            sha256, size = _file_sha256(path)
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
                self._copy_one(_safe_blob_path(directory / "blobs", entry.key), entry)
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
                while chunk := handle.read(_CHUNK):
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
