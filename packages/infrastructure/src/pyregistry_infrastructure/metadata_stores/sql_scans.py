"""Scan-before-serve verdicts and releases in portable SQL on a :class:`SqlDatabase`.

The tables come from migration ``1500_mirror_scans`` (every dialect), so every server process sharing the database
sees one verdict per sha256 and scans a file once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from pyregistry_application.scan_ports import FileRelease, ScanResult
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlScanResultStore"]

_BATCH = 500
_SCAN_COLUMNS = ("sha256", "filename", "scanned_at", "findings", "worst_severity", "worst_rule_id")
_RELEASE_COLUMNS = ("tenant_id", "sha256", "filename", "released_by", "reason", "released_at")


def _batches(values: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _BATCH):
        yield ordered[start : start + _BATCH]


def _scan(row: dict[str, Any]) -> ScanResult:
    scanned_at = load_time(row["scanned_at"])
    assert scanned_at is not None
    return ScanResult(
        sha256=row["sha256"],
        filename=row["filename"],
        scanned_at=scanned_at,
        findings=int(row["findings"]),
        worst_severity=row["worst_severity"],
        worst_rule_id=row["worst_rule_id"],
    )


def _release(row: dict[str, Any]) -> FileRelease:
    released_at = load_time(row["released_at"])
    assert released_at is not None
    return FileRelease(
        tenant_id=row["tenant_id"],
        sha256=row["sha256"],
        filename=row["filename"],
        released_by=row["released_by"],
        reason=row["reason"],
        released_at=released_at,
    )


class SqlScanResultStore:
    """Implements ``ScanResultStore`` over ``mirror_scans`` and ``mirror_file_releases``."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def get_scan(self, sha256: str) -> ScanResult | None:
        rows = self._db.rows("SELECT * FROM mirror_scans WHERE sha256 = ?", (sha256,))
        return _scan(rows[0]) if rows else None

    def find_scans(self, sha256s: Collection[str]) -> dict[str, ScanResult]:
        found: dict[str, ScanResult] = {}
        for batch in _batches(sha256s):
            marks = ",".join("?" * len(batch))
            for row in self._db.rows(f"SELECT * FROM mirror_scans WHERE sha256 IN ({marks})", tuple(batch)):  # noqa: S608
                found[row["sha256"]] = _scan(row)
        return found

    def put_scan(self, result: ScanResult) -> None:
        with self._db.write() as conn:
            conn.execute(
                self._db.dialect.insert_ignore("mirror_scans", _SCAN_COLUMNS, ("sha256",)),
                (
                    result.sha256,
                    result.filename,
                    dump_time(result.scanned_at),
                    result.findings,
                    result.worst_severity,
                    result.worst_rule_id,
                ),
            )

    def add_release(self, release: FileRelease) -> None:
        with self._db.write() as conn:
            conn.execute(
                self._db.dialect.insert_ignore("mirror_file_releases", _RELEASE_COLUMNS, ("tenant_id", "sha256")),
                (
                    release.tenant_id,
                    release.sha256,
                    release.filename,
                    release.released_by,
                    release.reason,
                    dump_time(release.released_at),
                ),
            )

    def find_releases(self, tenant_id: str, sha256s: Collection[str]) -> dict[str, FileRelease]:
        found: dict[str, FileRelease] = {}
        for batch in _batches(sha256s):
            marks = ",".join("?" * len(batch))
            rows = self._db.rows(
                f"SELECT * FROM mirror_file_releases WHERE tenant_id = ? AND sha256 IN ({marks})",  # noqa: S608
                (tenant_id, *batch),
            )
            for row in rows:
                found[row["sha256"]] = _release(row)
        return found
