"""Recording and reading the audit trail."""

from __future__ import annotations

from pyregistry_application.dto import AuditQuery, Page
from pyregistry_application.metadata_ports import AuditLog
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_domain.audit import AuditEvent

__all__ = ["AuditTrail"]

_SECRET_HINTS = ("password", "secret", "token_value", "authorization")


class AuditTrail:
    """Appends events to the durable trail; refuses to record anything that looks like a secret."""

    def __init__(self, audit_log: AuditLog, clock: Clock, ids: IdGenerator) -> None:
        self._audit_log = audit_log
        self._clock = clock
        self._ids = ids

    def record(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        tenant_id: str | None = None,
        source_ip: str | None = None,
        details: dict[str, str] | None = None,
    ) -> AuditEvent:
        """Append one event; keys that name secrets are dropped, ``pyr_`` values masked."""
        clean = {
            key: ("pyr_***" if value.startswith("pyr_") else value)
            for key, value in (details or {}).items()
            if not any(hint in key.lower() for hint in _SECRET_HINTS)
        }
        event = AuditEvent(
            id=self._ids.new_id(),
            occurred_at=self._clock.now(),
            actor=actor,
            action=action,
            target=target,
            tenant_id=tenant_id,
            source_ip=source_ip,
            details=clean,
        )
        self._audit_log.add_audit_event(event)
        return event

    def query(self, query: AuditQuery) -> Page[AuditEvent]:
        """One page of events, newest first."""
        return self._audit_log.list_audit_events(query)
