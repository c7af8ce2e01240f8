"""The dictionaries every in-memory metadata port of one backend shares, behind one lock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken
from pyregistry_domain.users import User

__all__ = ["MemoryState"]


@dataclass(slots=True)
class MemoryState:
    """Everything the memory backend holds; nothing survives the process. Hold ``lock`` to read or change it."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    projects: dict[tuple[str, str], Project] = field(default_factory=dict)
    releases: dict[tuple[str, str, str], Release] = field(default_factory=dict)
    files: dict[tuple[str, str], ReleaseFile] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    statuses: dict[tuple[str, str], ProjectStatus] = field(default_factory=dict)
    serial: int = 0

    def next_serial(self) -> int:
        """The next catalogue serial (serials only grow)."""
        self.serial += 1
        return self.serial

    def bump(self, tenant_id: str, normalized_name: str) -> None:
        """Give the project, when there is one, a new serial."""
        project = self.projects.get((tenant_id, normalized_name))
        if project is not None:
            self.projects[(tenant_id, normalized_name)] = replace(project, serial=self.next_serial())
