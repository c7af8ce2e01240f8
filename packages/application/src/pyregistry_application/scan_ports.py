"""Port and records of scan-before-serve: one scan verdict per sha256, releases per tenant."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import msgspec

__all__ = ["FileRelease", "ScanResult", "ScanResultStore"]


class ScanResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the audit found in the file with ``sha256`` (its worst finding, when there is one)."""

    sha256: str
    filename: str
    scanned_at: datetime
    findings: int
    worst_severity: str | None = None
    worst_rule_id: str | None = None


class FileRelease(msgspec.Struct, frozen=True, kw_only=True):
    """An admin's decision to serve a quarantined file in one tenant anyway."""

    tenant_id: str
    sha256: str
    filename: str
    released_by: str
    reason: str
    released_at: datetime


class ScanResultStore(Protocol):
    """Scan verdicts keyed by sha256 (shared by every tenant) and per-tenant releases."""

    def get_scan(self, sha256: str) -> ScanResult | None:
        """The verdict of the file with ``sha256``; ``None`` when it was never scanned."""
        ...

    def find_scans(self, sha256s: Collection[str]) -> dict[str, ScanResult]:
        """The verdicts known for any of ``sha256s``, by sha256."""
        ...

    def put_scan(self, result: ScanResult) -> None:
        """Record a verdict; an existing verdict for the same sha256 is kept."""
        ...

    def add_release(self, release: FileRelease) -> None:
        """Record a release; an existing release of the same tenant and sha256 is kept."""
        ...

    def find_releases(self, tenant_id: str, sha256s: Collection[str]) -> dict[str, FileRelease]:
        """The tenant's releases of any of ``sha256s``, by sha256."""
        ...
