"""The in-memory catalogue: projects, releases, files, statuses, search and counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pyregistry_application.dto import Page, RegistryStats
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState
from pyregistry_infrastructure.metadata_stores.search import rank_projects

__all__ = ["MemoryCatalogue"]


class MemoryCatalogue:
    """Implements ``Catalogue`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None:
        return self._state.projects.get((tenant_id, normalized_name))

    def list_projects(self, tenant_id: str) -> list[Project]:
        with self._state.lock:
            found = [project for (tid, _), project in self._state.projects.items() if tid == tenant_id]
            return sorted(found, key=lambda project: project.normalized_name)

    def add_release_file(self, project: Project, release: Release, file: ReleaseFile) -> list[ReleaseFile]:
        with self._state.lock:
            key = (project.tenant_id, project.normalized_name)
            clash = self._state.files.get((file.tenant_id, file.filename))
            stored_before = self._state.projects.get(key)
            taking_over = stored_before is not None and stored_before.is_taken_over_by(project.origin)
            if clash is not None and not (taking_over and clash.normalized_name == key[1]):
                raise AlreadyExists(f"File already exists: {file.filename!r}")
            removed = self._drop_taken_over(key) if taking_over else []
            existing = self._state.projects.get(key)
            stored_project = project
            if existing is not None:
                stored_project = replace(
                    project,
                    created_at=existing.created_at,
                    summary=existing.summary if project.summary is None else project.summary,
                    mirrored_at=existing.mirrored_at if project.mirrored_at is None else project.mirrored_at,
                )
            self._state.projects[key] = replace(stored_project, serial=self._state.next_serial())
            release_key = (release.tenant_id, release.normalized_name, release.version)
            self._state.releases.setdefault(release_key, release)
            stored = self._state.releases[release_key]
            self._state.files[(file.tenant_id, file.filename)] = replace(
                file, yanked=stored.yanked, yanked_reason=stored.yanked_reason
            )
            return removed

    def _drop_taken_over(self, key: tuple[str, str]) -> list[ReleaseFile]:
        """Remove a project the incoming one takes over, with its releases and files."""
        del self._state.projects[key]
        for release_key in [k for k in self._state.releases if k[:2] == key]:
            del self._state.releases[release_key]
        mine = [k for k, file in self._state.files.items() if k[0] == key[0] and file.normalized_name == key[1]]
        return [self._state.files.pop(k) for k in mine]

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        with self._state.lock:
            found = [
                r for (tid, name, _), r in self._state.releases.items() if tid == tenant_id and name == normalized_name
            ]
        return sorted(found, key=lambda release: (release.created_at, release.version))

    def _with_release(self, file: ReleaseFile) -> ReleaseFile:
        release = self._state.releases.get((file.tenant_id, file.normalized_name, file.version))
        if release is None:
            return file
        return replace(file, yanked=release.yanked, yanked_reason=release.yanked_reason)

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._state.lock:
            return [
                self._with_release(file)
                for (tid, _), file in self._state.files.items()
                if tid == tenant_id and file.normalized_name == normalized_name
            ]

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._state.lock:
            file = self._state.files.get((tenant_id, filename))
            return self._with_release(file) if file is not None else None

    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool:
        with self._state.lock:
            key = (tenant_id, normalized_name, version)
            release = self._state.releases.get(key)
            if release is None:
                return False
            self._state.releases[key] = replace(release, yanked=yanked, yanked_reason=reason if yanked else None)
            self._state.bump(tenant_id, normalized_name)
            return True

    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._state.lock:
            file = self._state.files.pop((tenant_id, filename), None)
            if file is None:
                return None
            self._state.bump(tenant_id, file.normalized_name)
            return self._with_release(file)

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        with self._state.lock:
            removed = [
                self._with_release(self._state.files.pop(key))
                for key, file in list(self._state.files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name and file.version == version
            ]
            self._state.releases.pop((tenant_id, normalized_name, version), None)
            self._state.bump(tenant_id, normalized_name)
            return removed

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._state.lock:
            removed = [
                self._with_release(self._state.files.pop(key))
                for key, file in list(self._state.files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name
            ]
            for key in [k for k in self._state.releases if k[0] == tenant_id and k[1] == normalized_name]:
                del self._state.releases[key]
            self._state.projects.pop((tenant_id, normalized_name), None)
            return removed

    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        with self._state.lock:
            return self._state.statuses.get((tenant_id, normalized_name), ACTIVE)

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        with self._state.lock:
            return {name: status for (tenant, name), status in self._state.statuses.items() if tenant == tenant_id}

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        with self._state.lock:
            if status == ACTIVE:
                self._state.statuses.pop((tenant_id, normalized_name), None)
            else:
                self._state.statuses[(tenant_id, normalized_name)] = status
            self._state.bump(tenant_id, normalized_name)

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
