"""Stored-file records for unit tests that need a project's files but no upload."""

from __future__ import annotations

from datetime import UTC, datetime

from pyregistry_domain.distributions import DistributionKind, ReleaseFile

__all__ = ["sdist_record"]


def sdist_record(version: str, *, yanked: bool = False, uploaded_by: str = "ci") -> ReleaseFile:
    """The record of ``demo-<version>.tar.gz`` in tenant ``t``."""
    return ReleaseFile(
        tenant_id="t",
        project_name="demo",
        normalized_name="demo",
        version=version,
        filename=f"demo-{version}.tar.gz",
        kind=DistributionKind.SDIST,
        sha256="a" * 64,
        size=1,
        blob_key="k",
        uploaded_at=datetime.now(UTC),
        uploaded_by=uploaded_by,
        yanked=yanked,
    )
