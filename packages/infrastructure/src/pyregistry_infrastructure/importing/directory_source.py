"""A pypiserver package directory (flat, or one subdirectory per project) as an import source."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from pyregistry_application.import_ports import SourceFile
from pyregistry_domain.distributions import parse_distribution_filename
from pyregistry_domain.errors import DomainError

__all__ = ["DirectorySource"]


class DirectorySource:
    """Every file under ``root`` whose name is a wheel or sdist name; its modification time is its upload time
    (pypiserver keeps no other record of it). Hidden files and other names are ignored."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def description(self) -> str:
        return f"directory {self._root}"

    def list_files(self) -> Iterator[SourceFile]:
        for path in sorted(self._root.rglob("*")):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                parse_distribution_filename(path.name)
            except DomainError:
                continue
            uploaded_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            yield SourceFile(filename=path.name, location=str(path), uploaded_at=uploaded_at)

    def fetch(self, file: SourceFile, scratch: Path) -> AbstractContextManager[Path]:
        return nullcontext(Path(file.location))

    def close(self) -> None:
        return None
