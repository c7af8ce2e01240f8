"""Audit trail events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["AuditEvent"]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what to which target, when and from where. Never holds secrets."""

    id: str
    occurred_at: datetime
    actor: str
    action: str
    target: str
    tenant_id: str | None = None
    source_ip: str | None = None
    details: dict[str, str] = field(default_factory=dict)
