"""The in-memory audit trail."""

from __future__ import annotations

from pyregistry_application.dto import AuditQuery, Page
from pyregistry_domain.audit import AuditEvent
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryAuditLog"]


class MemoryAuditLog:
    """Implements ``AuditLog`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_audit_event(self, event: AuditEvent) -> None:
        with self._state.lock:
            self._state.audit.append(event)

    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]:
        with self._state.lock:
            matching = [
                event
                for event in reversed(self._state.audit)
                if (query.tenant_id is None or event.tenant_id == query.tenant_id)
                and (query.action is None or event.action.startswith(query.action))
                and (query.actor is None or query.actor.lower() in event.actor.lower())
            ]
            matching.sort(key=lambda event: event.occurred_at, reverse=True)
            return Page(items=matching[query.offset : query.offset + query.limit], total=len(matching))
