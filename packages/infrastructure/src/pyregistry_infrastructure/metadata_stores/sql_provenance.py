"""Mirrored files' provenance, continuity releases and policies in portable SQL on a :class:`SqlDatabase`.

The tables come from migration ``1800_mirror_provenance`` (every dialect).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyregistry_application.provenance_ports import ContinuityRelease, FileProvenance, ProvenanceStatus
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlProvenanceRecordStore"]

_PROVENANCE_COLUMNS = (
    "tenant_id",
    "filename",
    "normalized_name",
    "version",
    "sha256",
    "status",
    "identity",
    "publisher",
    "detail",
    "checked_at",
)
_PROVENANCE_KEY = ("tenant_id", "filename")
_POLICY_UPDATE = {"continuity": "{new}.continuity"}
_RELEASE_COLUMNS = ("tenant_id", "normalized_name", "version", "released_by", "reason", "released_at")


def _provenance(row: dict[str, Any]) -> FileProvenance:
    checked_at = load_time(row["checked_at"])
    assert checked_at is not None
    return FileProvenance(
        tenant_id=row["tenant_id"],
        normalized_name=row["normalized_name"],
        version=row["version"],
        filename=row["filename"],
        sha256=row["sha256"],
        status=ProvenanceStatus(row["status"]),
        identity=row["identity"],
        publisher=row["publisher"],
        detail=row["detail"],
        checked_at=checked_at,
    )


def _release(row: dict[str, Any]) -> ContinuityRelease:
    released_at = load_time(row["released_at"])
    assert released_at is not None
    return ContinuityRelease(
        tenant_id=row["tenant_id"],
        normalized_name=row["normalized_name"],
        version=row["version"],
        released_by=row["released_by"],
        reason=row["reason"],
        released_at=released_at,
    )


class SqlProvenanceRecordStore:
    """Implements ``ProvenanceRecordStore`` over ``mirror_provenance``, ``provenance_continuity_releases`` and
    ``provenance_policies``."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def put_provenance(self, record: FileProvenance) -> None:
        replaced = {column: "{new}." + column for column in _PROVENANCE_COLUMNS[2:]}
        with self._db.write() as conn:
            conn.execute(
                self._db.dialect.upsert("mirror_provenance", _PROVENANCE_COLUMNS, ("tenant_id", "filename"), replaced),
                (
                    record.tenant_id,
                    record.filename,
                    record.normalized_name,
                    record.version,
                    record.sha256,
                    record.status.value,
                    record.identity,
                    record.publisher,
                    record.detail,
                    dump_time(record.checked_at),
                ),
            )

    def project_provenance(self, tenant_id: str, normalized_name: str) -> Mapping[str, FileProvenance]:
        rows = self._db.rows(
            "SELECT * FROM mirror_provenance WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
        )
        return {row["filename"]: _provenance(row) for row in rows}

    def add_continuity_release(self, release: ContinuityRelease) -> None:
        keys = ("tenant_id", "normalized_name", "version")
        with self._db.write() as conn:
            conn.execute(
                self._db.dialect.insert_ignore("provenance_continuity_releases", _RELEASE_COLUMNS, keys),
                (
                    release.tenant_id,
                    release.normalized_name,
                    release.version,
                    release.released_by,
                    release.reason,
                    dump_time(release.released_at),
                ),
            )

    def continuity_releases(self, tenant_id: str, normalized_name: str) -> Mapping[str, ContinuityRelease]:
        rows = self._db.rows(
            "SELECT * FROM provenance_continuity_releases WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return {row["version"]: _release(row) for row in rows}

    def set_continuity(self, tenant_id: str, enabled: bool | None) -> None:
        with self._db.write() as conn:
            if enabled is None:
                conn.execute("DELETE FROM provenance_policies WHERE tenant_id = ?", (tenant_id,))
                return
            conn.execute(
                self._db.dialect.upsert(
                    "provenance_policies",
                    ("tenant_id", "continuity"),
                    ("tenant_id",),
                    {"continuity": "{new}.continuity"},
                ),
                (tenant_id, int(enabled)),
            )

    def continuity(self, tenant_id: str) -> bool | None:
        rows = self._db.rows("SELECT continuity FROM provenance_policies WHERE tenant_id = ?", (tenant_id,))
        return bool(rows[0]["continuity"]) if rows else None
