"""In-memory catalogue reads: projects, releases, files, statuses, search and counts."""

from __future__ import annotations

from dataclasses import replace

from pyregistry_application.dto import ListedProject, Page, RegistryStats
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState
from pyregistry_infrastructure.metadata_stores.search import rank_projects

__all__ = ["MemoryCatalogueReader", "with_release"]


def with_release(state: MemoryState, file: ReleaseFile) -> ReleaseFile:
    """``file`` carrying its release's yank state (call with ``state.lock`` held)."""
    release = state.releases.get((file.tenant_id, file.normalized_name, file.version))
    if release is None:
        return file
    return replace(file, yanked=release.yanked, yanked_reason=release.yanked_reason)


class MemoryCatalogueReader:
    """Implements ``CatalogueReader`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None:
        return self._state.projects.get((tenant_id, normalized_name))

    def list_projects(self, tenant_id: str) -> list[Project]:
        with self._state.lock:
            found = [project for (tid, _), project in self._state.projects.items() if tid == tenant_id]
            return sorted(found, key=lambda project: project.normalized_name)

    def listed_projects(self, tenant_id: str, *, with_mirrored: bool) -> list[ListedProject]:
        with self._state.lock:
            return [
                ListedProject(project.name, project.normalized_name)
                for (tid, _), project in self._state.projects.items()
                if tid == tenant_id and (with_mirrored or project.is_local)
            ]

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        with self._state.lock:
            found = [
                r for (tid, name, _), r in self._state.releases.items() if tid == tenant_id and name == normalized_name
            ]
        return sorted(found, key=lambda release: (release.created_at, release.version))

    def release_versions(self, tenant_id: str, normalized_name: str) -> list[str]:
        with self._state.lock:
            return [
                version for (tid, name, version) in self._state.releases if tid == tenant_id and name == normalized_name
            ]

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._state.lock:
            return [
                with_release(self._state, file)
                for (tid, _), file in self._state.files.items()
                if tid == tenant_id and file.normalized_name == normalized_name
            ]

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._state.lock:
            file = self._state.files.get((tenant_id, filename))
            return with_release(self._state, file) if file is not None else None

    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        with self._state.lock:
            return self._state.statuses.get((tenant_id, normalized_name), ACTIVE)

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        with self._state.lock:
            return {name: status for (tenant, name), status in self._state.statuses.items() if tenant == tenant_id}

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]:
        with self._state.lock:
            wanted = set(tenant_ids)
            ranked = rank_projects([p for (tid, _), p in self._state.projects.items() if tid in wanted], query)
            return Page(items=ranked[offset : offset + limit], total=len(ranked))

    def stats(self) -> RegistryStats:
        with self._state.lock:
            return RegistryStats(
                tenants=len(self._state.tenants),
                projects=len(self._state.projects),
                releases=len(self._state.releases),
                files=len(self._state.files),
                stored_bytes=sum(file.size for file in self._state.files.values() if file.cached),
            )
