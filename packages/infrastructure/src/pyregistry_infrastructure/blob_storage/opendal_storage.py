"""OpenDAL artifact storage (filesystem, S3 and every other OpenDAL scheme)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import opendal
import structlog

from pyregistry_application.dto import BlobInfo
from pyregistry_domain.errors import NotFound
from pyregistry_infrastructure.scratch import ScratchSpace

__all__ = ["INCOMPLETE_PREFIX", "OpenDalStorage"]

INCOMPLETE_PREFIX = ".incomplete/"
_CHUNK = 1024 * 1024
_log = structlog.get_logger(__name__)


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"unsafe storage key {key!r}")
    return key


def _missing(key: str) -> NotFound:
    """The error for a blob the store records but the storage lacks: its key (tenant id, upload id) goes to the
    log, not to the client."""
    _log.warning("storage.blob_missing", key=key)
    return NotFound("the file is missing from storage (the server log names the missing blob)")


async def _presign_read(operator: opendal.AsyncOperator, key: str, seconds: int) -> str:
    request = await operator.presign_read(key, seconds)
    return str(request.url)


class OpenDalStorage:
    """Implements ``ArtifactStorage``. Writes go to ``.incomplete/`` and are renamed into place when the
    backend can rename (filesystem); object stores publish an object only when its upload completes.

    On a local filesystem the incomplete writes live in a per-process :class:`ScratchSpace`, so
    :meth:`remove_incomplete` can drop a crashed process's leftovers at once without touching a live one's.
    """

    def __init__(self, scheme: str, options: dict[str, str], local_root: Path | None = None) -> None:
        self.scheme = scheme
        self._op = opendal.Operator(scheme, **options)
        self._can_rename = bool(self._op.capability().rename)
        self._local_root = local_root.resolve() if local_root is not None and scheme == "fs" else None
        self._local_prefix = None if self._local_root is None else f"{self._local_root}{os.sep}"
        self._scratch = (
            ScratchSpace(self._local_root / INCOMPLETE_PREFIX.rstrip("/"))
            if self._local_root is not None and self._can_rename
            else None
        )

    def check(self) -> None:
        """Fail now (with the backend's error) when the storage is unreachable or misconfigured, e.g. no bucket."""
        self._op.check()

    def wrap_operator(self, wrap: Callable[[opendal.Operator], Any]) -> None:
        """Put ``wrap(operator)`` in front of every backend call (tracing spans)."""
        self._op = wrap(self._op)

    def check_ready(self) -> None:
        """Raise unless the storage answers now: the local root is a directory that can be listed (opendal would
        quietly recreate a removed one), or the backend's own check passes."""
        if self._local_root is not None:
            with os.scandir(self._local_root):
                return
        self._op.check()

    @classmethod
    def filesystem(cls, root: Path) -> OpenDalStorage:
        """Storage rooted at a local directory (created when missing)."""
        root.mkdir(parents=True, exist_ok=True)
        return cls("fs", {"root": str(root.resolve())}, local_root=root)

    def _publish(self, key: str, chunks: Iterable[bytes]) -> int:
        _check_key(key)
        target = key
        if self._can_rename:
            owner = f"{self._scratch.owner}/" if self._scratch is not None else ""
            target = f"{INCOMPLETE_PREFIX}{owner}{secrets.token_hex(16)}"
        written = 0
        handle = self._op.open(target, "wb")
        try:
            for chunk in chunks:
                if chunk:
                    handle.write(chunk)
                    written += len(chunk)
        except BaseException:
            # Closing would publish what was written so far; an object store keeps an unclosed writer invisible.
            if target != key:
                handle.close()
                self._quiet_delete(target)
            raise
        try:
            handle.close()
            if written == 0:
                self._op.write(target, b"")
            if target != key:
                self._op.rename(target, key)
        except BaseException:
            if target != key:
                self._quiet_delete(target)
            raise
        return written

    def put_file(self, key: str, source: Path) -> None:
        """Stream a local file to ``key``."""

        def read() -> Iterator[bytes]:
            with source.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        self._publish(key, read())

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small blob."""
        self._publish(key, [data])

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store a stream of chunks; return the byte count."""
        return self._publish(key, chunks)

    def read_bytes(self, key: str) -> bytes:
        """Whole blob; :class:`NotFound` when absent. On the local filesystem the file is read directly: the same
        file OpenDAL would read, in a twentieth of the time (about 13 against 275 µs for 1 KB here)."""
        key = _check_key(key)
        if self._local_prefix is not None:
            try:
                with open(self._local_prefix + key, "rb") as blob:
                    return blob.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise _missing(key) from None
        try:
            return bytes(self._op.read(key))
        except opendal.exceptions.NotFound:
            raise _missing(key) from None

    def iter_chunks(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """Check the blob exists now (so absence raises here, not mid-response), then stream it in chunks."""
        try:
            self._op.stat(_check_key(key))
            handle = self._op.open(key, "rb")
        except opendal.exceptions.NotFound:
            raise _missing(key) from None

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(chunk_size):
                    yield bytes(chunk)

        return chunks()

    def stat(self, key: str) -> BlobInfo | None:
        """Size and modification time, or ``None``."""
        try:
            meta = self._op.stat(_check_key(key))
        except opendal.exceptions.NotFound:
            return None
        return BlobInfo(size=int(meta.content_length), last_modified=meta.last_modified)

    def delete(self, key: str) -> None:
        """Remove a blob; missing is fine."""
        self._quiet_delete(_check_key(key))

    def _quiet_delete(self, key: str) -> None:
        try:
            self._op.delete(key)
        except opendal.exceptions.NotFound:
            return

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Visible blob keys under ``prefix`` (incomplete writes excluded)."""
        try:
            entries = self._op.list(prefix, recursive=True)
        except opendal.exceptions.NotFound:
            return
        for entry in entries:
            path = entry.path.lstrip("/")
            if path and not path.endswith("/") and not path.startswith(INCOMPLETE_PREFIX):
                yield path

    def local_path(self, key: str) -> Path | None:
        """The blob's file on local disk (filesystem backend only); checked on a string path, a quarter of what
        ``Path.is_file`` costs on every download."""
        if self._local_prefix is None:
            return None
        path = self._local_prefix + _check_key(key)
        return Path(path) if os.path.isfile(path) else None  # noqa: PTH113

    def presigned_read_url(self, key: str, seconds: int) -> str | None:
        """A presigned GET URL on object stores; ``None`` on the filesystem. Signing is local (no request)."""
        if self._local_root is not None or not self._op.capability().presign_read:
            return None
        return asyncio.run(_presign_read(self._op.to_async_operator(), _check_key(key), seconds))

    def remove_incomplete(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Delete interrupted writes: a dead process's at once (local filesystem), others once older than
        ``older_than`` (younger ones may still be in flight)."""
        if self._scratch is not None:
            removed = self._scratch.sweep(older_than)
            if removed:
                _log.info("storage.incomplete_removed", count=removed)
            return removed
        removed = 0
        cutoff = datetime.now(UTC) - older_than
        try:
            entries = list(self._op.list(INCOMPLETE_PREFIX, recursive=True))
        except opendal.exceptions.NotFound:
            return 0
        for entry in entries:
            path = entry.path.lstrip("/")
            if path.endswith("/") or not path.startswith(INCOMPLETE_PREFIX):
                continue
            try:
                modified = self._op.stat(path).last_modified
            except opendal.exceptions.NotFound:
                continue
            if modified is None or modified <= cutoff:
                self._quiet_delete(path)
                removed += 1
        if removed:
            _log.info("storage.incomplete_removed", count=removed)
        return removed
