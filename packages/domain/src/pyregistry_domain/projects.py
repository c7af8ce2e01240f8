"""Projects and releases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Project", "ProjectOrigin", "Release"]


class ProjectOrigin(StrEnum):
    """Where a project's files come from: uploaded to this registry, or read through from the upstream index."""

    LOCAL = "local"
    MIRROR = "mirror"


@dataclass(frozen=True, slots=True)
class Project:
    """A named project in one tenant; ``serial`` grows on every change that alters its index page."""

    tenant_id: str
    name: str
    normalized_name: str
    created_at: datetime
    summary: str | None = None
    origin: str = ProjectOrigin.LOCAL
    serial: int = 0
    mirrored_at: datetime | None = None

    @property
    def is_mirrored(self) -> bool:
        """True when the project's files are read through from the upstream index."""
        return self.origin == ProjectOrigin.MIRROR

    @property
    def is_local(self) -> bool:
        """True when the project's files are uploaded to (or imported into) this registry."""
        return self.origin == ProjectOrigin.LOCAL

    def is_taken_over_by(self, incoming_origin: str) -> bool:
        """A local upload takes a mirrored project over: the mirrored copy, its releases and files give way."""
        return self.is_mirrored and incoming_origin == ProjectOrigin.LOCAL

    def is_visible_when(self, *, mirroring_enabled: bool) -> bool:
        """A local project is always listed; a mirrored one only while its tenant mirrors the upstream index."""
        return self.is_local or mirroring_enabled

    def offers_files_from(self, file_origin: str) -> bool:
        """A local project offers only its local files (a mirrored leftover is never served beside them); a
        mirrored project offers what the mirror recorded."""
        return self.is_mirrored or file_origin == ProjectOrigin.LOCAL


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a project."""

    tenant_id: str
    normalized_name: str
    version: str
    created_at: datetime
    yanked: bool = False
    yanked_reason: str | None = None
