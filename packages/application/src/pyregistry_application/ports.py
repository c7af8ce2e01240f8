"""Ports: what the use cases need from the outside world, as ``typing.Protocol`` (the metadata store's ports are in
:mod:`pyregistry_application.metadata_ports`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pyregistry_application.dto import BlobInfo, DistributionMetadata
from pyregistry_domain.distributions import ArchiveFormat, DistributionKind

__all__ = [
    "ArtifactStorage",
    "Clock",
    "DistributionInspector",
    "IdGenerator",
    "PasswordHasher",
]


class Clock(Protocol):
    """Current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Unique, URL-safe identifiers."""

    def new_id(self) -> str: ...


class PasswordHasher(Protocol):
    """A memory-hard password KDF with constant-time verification."""

    def hash(self, password: str) -> str: ...

    def verify(self, encoded: str, password: str) -> bool: ...


class DistributionInspector(Protocol):
    """Opens an archive, checks it is safe and well formed, and reads its core metadata."""

    def inspect(self, path: Path, kind: DistributionKind, archive_format: ArchiveFormat) -> DistributionMetadata:
        """The core metadata; :class:`InvalidDistribution` when the content is not the promised format or unsafe."""
        ...


class ArtifactStorage(Protocol):
    """Blob storage for distribution files. Writes are atomic: a key is visible only when complete."""

    def put_file(self, key: str, source: Path) -> None:
        """Copy a local file to ``key``, streaming, visible only once complete."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small blob at ``key`` atomically."""
        ...

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store a stream of chunks at ``key`` atomically; return the byte count."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """Read a whole (small) blob; raise ``NotFound`` when absent."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """Stream a blob; raise ``NotFound`` when absent."""
        ...

    def stat(self, key: str) -> BlobInfo | None:
        """Size and modification time, or ``None`` when absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob; absent blobs are ignored."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every visible key under ``prefix``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local filesystem path for the blob when the backend has one (for zero-copy serving)."""
        ...

    def presigned_read_url(self, key: str, seconds: int) -> str | None:
        """A URL that lets anyone GET the blob for ``seconds``, or ``None`` when the backend cannot sign one."""
        ...

    def remove_incomplete(self) -> int:
        """Delete temporary blobs left by interrupted writes; return how many."""
        ...
