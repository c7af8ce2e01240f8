"""What a project offers installers: which of its files and versions a page lists and which file a client may fetch."""

from __future__ import annotations

from collections.abc import Iterable

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ProjectStatus
from pyregistry_domain.projects import Project

__all__ = ["file_is_reachable", "offered_files", "offered_versions"]


def offered_files(
    project: Project,
    files: Iterable[ReleaseFile],
    status: ProjectStatus,
    blocked_versions: frozenset[str] = frozenset(),
) -> list[ReleaseFile]:
    """The files the project's page lists: none when its status offers none (quarantine), else those of its own
    origin (a local project never lists a mirrored leftover) outside the blocked versions. Yanked files stay listed,
    marked yanked (PEP 592)."""
    if not status.offers_files:
        return []
    return [file for file in files if project.offers_files_from(file.origin) and file.version not in blocked_versions]


def offered_versions(
    versions: Iterable[str], status: ProjectStatus, blocked_versions: frozenset[str] = frozenset()
) -> list[str]:
    """The versions the project's page lists, in the given order: none under quarantine, never a blocked one."""
    if not status.offers_files:
        return []
    return [version for version in versions if version not in blocked_versions]


def file_is_reachable(file: ReleaseFile, project: Project | None, *, mirroring_enabled: bool) -> bool:
    """A local file can always be fetched; a mirrored one only while its tenant mirrors and its project is still
    mirrored (a local upload that took the project over hides what the mirror recorded)."""
    if file.is_local:
        return True
    return mirroring_enabled and project is not None and project.is_mirrored
