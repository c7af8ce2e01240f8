"""The store port of the release policies: per-tenant overrides, early approvals and upstream upload times."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from pyregistry_domain.release_policy import PolicyOverride, ReleaseApproval

__all__ = ["ReleasePolicyStore"]


class ReleasePolicyStore(Protocol):
    """Where the release policies keep their state; overrides and approvals are tenant-scoped."""

    def get_override(self, tenant_id: str) -> PolicyOverride:
        """The tenant's overrides (every field ``None`` when it has none)."""
        ...

    def put_override(self, tenant_id: str, override: PolicyOverride) -> None:
        """Replace the tenant's overrides."""
        ...

    def record_upload_times(self, times: Mapping[str, datetime]) -> None:
        """Remember upstream upload times by filename; the first time recorded for a filename is kept (an upstream
        cannot move a file's age later)."""
        ...

    def upload_times(self, filenames: Collection[str]) -> dict[str, datetime]:
        """The recorded upload times of ``filenames`` (files never recorded are absent)."""
        ...

    def add_approval(self, approval: ReleaseApproval) -> None:
        """Store an approval."""
        ...

    def list_approvals(self, tenant_id: str) -> list[ReleaseApproval]:
        """The tenant's approvals, newest first."""
        ...

    def remove_approval(self, tenant_id: str, approval_id: str) -> ReleaseApproval | None:
        """Delete one approval of the tenant; the removed approval, or ``None`` when there was none."""
        ...
