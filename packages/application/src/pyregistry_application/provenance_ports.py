"""Port and records for the verified provenance of mirrored files and the provenance-continuity policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec

__all__ = ["ContinuityRelease", "FileProvenance", "ProvenanceRecordStore", "ProvenanceStatus"]


class ProvenanceStatus(StrEnum):
    """What checking an upstream file's provenance found."""

    VERIFIED = "verified"
    """Every attestation verified; ``identity`` names the signer."""
    ABSENT = "absent"
    """The upstream offers no provenance for the file."""
    REFUSED = "refused"
    """The upstream offered provenance that did not verify (``detail`` says why); treated as absent."""


class FileProvenance(msgspec.Struct, frozen=True):
    """The checked provenance of one mirrored file (keyed by tenant and filename, valid for its sha256)."""

    tenant_id: str
    normalized_name: str
    version: str
    filename: str
    sha256: str
    status: ProvenanceStatus
    identity: str | None
    publisher: str | None
    """The PEP 740 publisher object (JSON) of a verified file."""
    detail: str
    checked_at: datetime


class ContinuityRelease(msgspec.Struct, frozen=True):
    """An admin's release of a version held by provenance continuity."""

    tenant_id: str
    normalized_name: str
    version: str
    released_by: str
    reason: str
    released_at: datetime


class ProvenanceRecordStore(Protocol):
    """Per-tenant provenance records of mirrored files, continuity releases and the per-tenant policy switch."""

    def put_provenance(self, record: FileProvenance) -> None:
        """Record (or replace) the provenance of ``record.filename`` in its tenant."""
        ...

    def project_provenance(self, tenant_id: str, normalized_name: str) -> Mapping[str, FileProvenance]:
        """Every recorded file of a project by filename."""
        ...

    def add_continuity_release(self, release: ContinuityRelease) -> None:
        """Record an admin's release of a held version; the first release of a version is kept."""
        ...

    def continuity_releases(self, tenant_id: str, normalized_name: str) -> Mapping[str, ContinuityRelease]:
        """The released versions of a project."""
        ...

    def set_continuity(self, tenant_id: str, enabled: bool | None) -> None:
        """Turn provenance continuity on or off for a tenant; ``None`` follows the configured default."""
        ...

    def continuity(self, tenant_id: str) -> bool | None:
        """The tenant's own choice, ``None`` when it follows the configured default."""
        ...
