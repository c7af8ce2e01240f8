"""Process-owned scratch directories for temporaries (upload spools, mirror downloads, incomplete blobs).

A process claims ``<root>/<owner>/`` and holds an exclusive ``flock`` on ``<root>/<owner>.lock`` for as long as it
lives; the kernel drops the lock when the process dies, however it dies (SIGKILL included). A sweep removes the
directories of owners whose lock is free, so several workers starting at once never delete each other's files, and a
restart after a crash cleans up at once. Entries that belong to no owner (older layouts, stray files) are removed
only once they are older than a grace period, because nothing tells whether someone still writes them.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import structlog

__all__ = ["LOCK_SUFFIX", "ScratchSpace"]

LOCK_SUFFIX = ".lock"
DEFAULT_GRACE = timedelta(minutes=10)
_log = structlog.get_logger(__name__)


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_linked(path: Path, descriptor: int) -> bool:
    """True when ``path`` still names the inode behind ``descriptor`` (a sweeper did not unlink it meanwhile)."""
    try:
        return path.stat().st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, child.lstat().st_mtime)
    return newest


def _remove_tree(path: Path) -> int:
    """Delete a file or directory tree; return how many files went."""
    if path.is_dir() and not path.is_symlink():
        count = sum(1 for child in path.rglob("*") if not child.is_dir())
        shutil.rmtree(path, ignore_errors=True)
        return count
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return 1
    return 0


class ScratchSpace:
    """Claims a private directory under ``root`` on first use and sweeps what dead processes left behind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._guard = threading.Lock()
        self._owner: str | None = None
        self._descriptor: int | None = None

    @property
    def owner(self) -> str:
        """This process's owner id (claims the directory on first use)."""
        with self._guard:
            if self._owner is None:
                self._claim()
            assert self._owner is not None
            return self._owner

    @property
    def directory(self) -> Path:
        """``<root>/<owner>``: temporaries put here are removed only after this process has gone."""
        return self.root / self.owner

    def subdirectory(self, name: str) -> Path:
        """A named directory inside :attr:`directory`, created when missing."""
        path = self.directory / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _claim(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            owner = f"{os.getpid()}-{secrets.token_hex(6)}"
            lock_path = self.root / f"{owner}{LOCK_SUFFIX}"
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            if _try_lock(descriptor) and _still_linked(lock_path, descriptor):
                break
            os.close(descriptor)
        (self.root / owner).mkdir(exist_ok=True)
        self._owner = owner
        self._descriptor = descriptor
        atexit.register(self.release)

    def release(self) -> None:
        """Remove this process's directory and lock (also run at interpreter exit)."""
        with self._guard:
            if self._owner is None or self._descriptor is None:
                return
            shutil.rmtree(self.root / self._owner, ignore_errors=True)
            (self.root / f"{self._owner}{LOCK_SUFFIX}").unlink(missing_ok=True)
            os.close(self._descriptor)
            self._owner = None
            self._descriptor = None

    def sweep(self, grace: timedelta = DEFAULT_GRACE) -> int:
        """Remove the directories of dead owners, and ownerless entries older than ``grace``; return files removed."""
        if not self.root.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - grace.total_seconds()
        for entry in sorted(self.root.iterdir()):
            try:
                if entry.name.endswith(LOCK_SUFFIX):
                    removed += self._sweep_owner(entry)
                elif not (self.root / f"{entry.name}{LOCK_SUFFIX}").exists() and _newest_mtime(entry) < cutoff:
                    removed += _remove_tree(entry)
            except FileNotFoundError:
                continue
        if removed:
            _log.info("scratch.swept", root=str(self.root), removed=removed)
        return removed

    def _sweep_owner(self, lock_path: Path) -> int:
        owner = lock_path.name.removesuffix(LOCK_SUFFIX)
        if owner == self._owner:
            return 0
        descriptor = os.open(lock_path, os.O_RDWR)
        try:
            if not _try_lock(descriptor) or not _still_linked(lock_path, descriptor):
                return 0
            removed = _remove_tree(self.root / owner) if (self.root / owner).exists() else 0
            lock_path.unlink(missing_ok=True)
            return removed
        finally:
            os.close(descriptor)
