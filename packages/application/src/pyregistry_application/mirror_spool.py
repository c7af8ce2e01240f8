"""Scratch space of one upstream download: the bytes on disk under the file's real name, hashed as they arrive."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["DownloadSpool"]


class DownloadSpool:
    """A private scratch directory holding ``filename`` (the scanners see the real name); removed on exit."""

    def __init__(self, parent: Path, filename: str) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(dir=parent, prefix="mirror-"))
        self.path = self._dir / Path(filename).name
        self._handle = self.path.open("wb")
        self._digest = hashlib.sha256()
        self.total = 0

    def __enter__(self) -> DownloadSpool:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.discard()

    def discard(self) -> None:
        """Close and remove the scratch directory (what leaving the ``with`` block does)."""
        self._handle.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` and hash it."""
        self._digest.update(chunk)
        self.total += len(chunk)
        self._handle.write(chunk)

    def restart(self) -> None:
        """Drop what was written (a retried transfer starts over)."""
        self._handle.seek(0)
        self._handle.truncate()
        self._digest = hashlib.sha256()
        self.total = 0

    def finish(self, sha256: str) -> bool:
        """Close the file; true when its bytes have ``sha256``."""
        self._handle.close()
        return hmac.compare_digest(self._digest.hexdigest(), sha256)
