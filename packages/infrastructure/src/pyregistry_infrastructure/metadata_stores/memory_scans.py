"""In-memory scan-before-serve verdicts and releases (tests and ``database_store = "memory"``)."""

from __future__ import annotations

import threading
from collections.abc import Collection

from pyregistry_application.scan_ports import FileRelease, ScanResult

__all__ = ["MemoryScanResultStore"]


class MemoryScanResultStore:
    """Implements ``ScanResultStore`` with dicts guarded by a lock; this process only."""

    def __init__(self) -> None:
        self._scans: dict[str, ScanResult] = {}
        self._releases: dict[tuple[str, str], FileRelease] = {}
        self._lock = threading.Lock()

    def get_scan(self, sha256: str) -> ScanResult | None:
        with self._lock:
            return self._scans.get(sha256)

    def find_scans(self, sha256s: Collection[str]) -> dict[str, ScanResult]:
        with self._lock:
            return {sha: self._scans[sha] for sha in sha256s if sha in self._scans}

    def put_scan(self, result: ScanResult) -> None:
        with self._lock:
            self._scans.setdefault(result.sha256, result)

    def add_release(self, release: FileRelease) -> None:
        with self._lock:
            self._releases.setdefault((release.tenant_id, release.sha256), release)

    def find_releases(self, tenant_id: str, sha256s: Collection[str]) -> dict[str, FileRelease]:
        with self._lock:
            return {sha: self._releases[(tenant_id, sha)] for sha in sha256s if (tenant_id, sha) in self._releases}
