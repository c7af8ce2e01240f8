"""Ports for ``pyregistry import``: where the files of another registry come from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Protocol

import msgspec

__all__ = ["ImportSource", "SourceFile"]


class SourceFile(msgspec.Struct, frozen=True):
    """One distribution file offered by the source; ``location`` is a path or URL the source understands."""

    filename: str
    location: str
    uploaded_at: datetime | None = None
    sha256: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None


class ImportSource(Protocol):
    """A pypiserver directory, a devpi index or any PEP 503/691 index."""

    @property
    def description(self) -> str:
        """What is imported from, for messages and the audit trail (never with credentials)."""
        ...

    def list_files(self) -> Iterator[SourceFile]:
        """Every distribution file the source offers."""
        ...

    def fetch(self, file: SourceFile, scratch: Path) -> AbstractContextManager[Path]:
        """A local path holding the file's bytes while the block runs (downloaded into ``scratch`` if needed)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
