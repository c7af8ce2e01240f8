"""Ranking shared by every store's project search."""

from __future__ import annotations

from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.projects import Project

__all__ = ["rank_projects"]


def _score(project: Project, needle: str, normalized_needle: str) -> int | None:
    name = project.normalized_name
    summary = (project.summary or "").lower()
    if name == normalized_needle:
        return 0
    if name.startswith(normalized_needle):
        return 1
    if normalized_needle in name:
        return 2
    if needle in summary:
        return 3
    return None


def rank_projects(candidates: list[Project], query: str) -> list[Project]:
    """Order matches: exact name, name prefix, name substring, summary substring; then by name."""
    needle = query.strip().lower()
    if not needle:
        return sorted(candidates, key=lambda project: (project.normalized_name, project.tenant_id))
    normalized_needle = normalize_project_name(needle)
    scored = [
        (score, project.normalized_name, project.tenant_id, project)
        for project in candidates
        if (score := _score(project, needle, normalized_needle)) is not None
    ]
    scored.sort(key=lambda row: row[:3])
    return [row[3] for row in scored]
