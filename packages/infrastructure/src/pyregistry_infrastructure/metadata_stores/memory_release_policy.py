"""In-memory release policy state (tests and ``database_store = "memory"``)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import datetime

from pyregistry_domain.release_policy import PolicyOverride, ReleaseApproval

__all__ = ["MemoryReleasePolicyStore"]


class MemoryReleasePolicyStore:
    """Implements ``ReleasePolicyStore`` with dicts guarded by a lock; this process only."""

    def __init__(self) -> None:
        self._overrides: dict[str, PolicyOverride] = {}
        self._approvals: dict[str, ReleaseApproval] = {}
        self._times: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def get_override(self, tenant_id: str) -> PolicyOverride:
        with self._lock:
            return self._overrides.get(tenant_id, PolicyOverride())

    def put_override(self, tenant_id: str, override: PolicyOverride) -> None:
        with self._lock:
            self._overrides[tenant_id] = override

    def record_upload_times(self, times: Mapping[str, datetime]) -> None:
        with self._lock:
            for filename, uploaded_at in times.items():
                self._times.setdefault(filename, uploaded_at)

    def upload_times(self, filenames: Collection[str]) -> dict[str, datetime]:
        with self._lock:
            return {name: self._times[name] for name in filenames if name in self._times}

    def add_approval(self, approval: ReleaseApproval) -> None:
        with self._lock:
            self._approvals[approval.id] = approval

    def list_approvals(self, tenant_id: str) -> list[ReleaseApproval]:
        with self._lock:
            listed = [approval for approval in self._approvals.values() if approval.tenant_id == tenant_id]
        return sorted(listed, key=lambda approval: (approval.approved_at, approval.id), reverse=True)

    def remove_approval(self, tenant_id: str, approval_id: str) -> ReleaseApproval | None:
        with self._lock:
            approval = self._approvals.get(approval_id)
            if approval is None or approval.tenant_id != tenant_id:
                return None
            return self._approvals.pop(approval_id)
