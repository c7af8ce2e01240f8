"""Release policy state in portable SQL on a :class:`SqlDatabase` (tables of migration
``1700_release_policy``), so every server process applies the same overrides, approvals and upload times."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from pyregistry_domain.release_policy import POLICY_FIELDS, PolicyOverride, ReleaseApproval
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlReleasePolicyStore"]

_BATCH = 500
_APPROVAL_COLUMNS = ("id", "tenant_id", "project", "version", "reason", "approved_by", "approved_at")


def _batches(values: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _BATCH):
        yield ordered[start : start + _BATCH]


def _approval(row: dict[str, Any]) -> ReleaseApproval:
    approved_at = load_time(row["approved_at"])
    assert approved_at is not None
    return ReleaseApproval(
        id=row["id"],
        tenant_id=row["tenant_id"],
        project=row["project"],
        version=row["version"],
        reason=row["reason"],
        approved_by=row["approved_by"],
        approved_at=approved_at,
    )


class SqlReleasePolicyStore:
    """Implements ``ReleasePolicyStore`` over ``release_policy_overrides``, ``release_approvals`` and
    ``upstream_upload_times``."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def get_override(self, tenant_id: str) -> PolicyOverride:
        rows = self._db.rows("SELECT * FROM release_policy_overrides WHERE tenant_id = ?", (tenant_id,))
        if not rows:
            return PolicyOverride()
        return PolicyOverride(**{name: rows[0][name] for name in POLICY_FIELDS})

    def put_override(self, tenant_id: str, override: PolicyOverride) -> None:
        columns = ("tenant_id", *POLICY_FIELDS)
        with self._db.write() as conn:
            conn.execute("DELETE FROM release_policy_overrides WHERE tenant_id = ?", (tenant_id,))
            conn.execute(
                f"INSERT INTO release_policy_overrides ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(columns))})",
                (tenant_id, *(getattr(override, name) for name in POLICY_FIELDS)),
            )

    def record_upload_times(self, times: Mapping[str, datetime]) -> None:
        if not times:
            return
        known = self.upload_times(times.keys())
        fresh = [(name, dump_time(value)) for name, value in sorted(times.items()) if name not in known]
        if not fresh:
            return
        statement = self._db.dialect.insert_ignore("upstream_upload_times", ("filename", "uploaded_at"), ("filename",))
        with self._db.write() as conn:
            conn.executemany(statement, fresh)

    def upload_times(self, filenames: Collection[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for batch in _batches(filenames):
            marks = ",".join("?" * len(batch))
            rows = self._db.rows(
                f"SELECT filename, uploaded_at FROM upstream_upload_times WHERE filename IN ({marks})",  # noqa: S608
                tuple(batch),
            )
            for row in rows:
                uploaded_at = load_time(row["uploaded_at"])
                assert uploaded_at is not None
                found[row["filename"]] = uploaded_at
        return found

    def add_approval(self, approval: ReleaseApproval) -> None:
        with self._db.write() as conn:
            conn.execute(
                f"INSERT INTO release_approvals ({', '.join(_APPROVAL_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(_APPROVAL_COLUMNS))})",
                (
                    approval.id,
                    approval.tenant_id,
                    approval.project,
                    approval.version,
                    approval.reason,
                    approval.approved_by,
                    dump_time(approval.approved_at),
                ),
            )

    def list_approvals(self, tenant_id: str) -> list[ReleaseApproval]:
        rows = self._db.rows("SELECT * FROM release_approvals WHERE tenant_id = ?", (tenant_id,))
        approvals = [_approval(row) for row in rows]
        return sorted(approvals, key=lambda approval: (approval.approved_at, approval.id), reverse=True)

    def remove_approval(self, tenant_id: str, approval_id: str) -> ReleaseApproval | None:
        with self._db.write() as conn:
            rows = conn.query(
                "SELECT * FROM release_approvals WHERE tenant_id = ? AND id = ?", (tenant_id, approval_id)
            )
            if not rows:
                return None
            conn.execute("DELETE FROM release_approvals WHERE tenant_id = ? AND id = ?", (tenant_id, approval_id))
        return _approval(rows[0])
