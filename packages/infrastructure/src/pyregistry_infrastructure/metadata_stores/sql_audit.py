"""The audit trail in portable SQL."""

from __future__ import annotations

import json
from typing import Any

from pyregistry_application.dto import AuditQuery, Page
from pyregistry_domain.audit import AuditEvent
from pyregistry_infrastructure.metadata_stores.rows import audit_from_row, dump_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlAuditLog"]


class SqlAuditLog:
    """Implements ``AuditLog`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def add_audit_event(self, event: AuditEvent) -> None:
        with self._db.write() as conn:
            conn.execute(
                """INSERT INTO audit_events (id, occurred_at, actor, action, target, tenant_id, source_ip, details)
                VALUES (?,?,?,?,?,?,?,?)""",
                (
                    event.id,
                    dump_time(event.occurred_at),
                    event.actor,
                    event.action,
                    event.target,
                    event.tenant_id,
                    event.source_ip,
                    json.dumps(event.details, sort_keys=True),
                ),
            )

    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.tenant_id is not None:
            clauses.append("tenant_id = ?")
            params.append(query.tenant_id)
        if query.action:
            clauses.append("action LIKE ?")
            params.append(query.action.replace("%", "") + "%")
        if query.actor:
            clauses.append("lower(actor) LIKE ?")
            params.append("%" + query.actor.lower().replace("%", "") + "%")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        total_row = self._db.row(f"SELECT COUNT(*) AS n FROM audit_events {where}", tuple(params))  # noqa: S608
        page, page_params = self._db.dialect.page(query.limit, query.offset)
        rows = self._db.rows(
            f"SELECT * FROM audit_events {where} ORDER BY occurred_at DESC, id {page}",  # noqa: S608
            (*params, *page_params),
        )
        return Page(items=[audit_from_row(row) for row in rows], total=int(total_row["n"]) if total_row else 0)
