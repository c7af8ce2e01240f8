"""In-memory catalogue writes, each under the state's lock; a takeover is decided by the domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from pyregistry_application.background_ports import PendingJob
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.metadata_stores.memory_catalogue_reads import with_release
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryCatalogueWriter"]


class MemoryCatalogueWriter:
    """Implements ``CatalogueWriter`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_release_file(
        self, project: Project, release: Release, file: ReleaseFile, jobs: Sequence[PendingJob] = ()
    ) -> list[ReleaseFile]:
        if jobs:
            kinds = ", ".join(sorted({job.kind for job in jobs}))
            raise ValueError(
                f"the memory metadata store has no job table: cannot enqueue {kinds} with {file.filename!r}; "
                "the durable background executor needs a SQL database_store"
            )
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
            return with_release(self._state, file)

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        with self._state.lock:
            removed = [
                with_release(self._state, self._state.files.pop(key))
                for key, file in list(self._state.files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name and file.version == version
            ]
            self._state.releases.pop((tenant_id, normalized_name, version), None)
            self._state.bump(tenant_id, normalized_name)
            return removed

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._state.lock:
            removed = [
                with_release(self._state, self._state.files.pop(key))
                for key, file in list(self._state.files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name
            ]
            for key in [k for k in self._state.releases if k[0] == tenant_id and k[1] == normalized_name]:
                del self._state.releases[key]
            self._state.projects.pop((tenant_id, normalized_name), None)
            return removed

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        with self._state.lock:
            if status == ACTIVE:
                self._state.statuses.pop((tenant_id, normalized_name), None)
            else:
                self._state.statuses[(tenant_id, normalized_name)] = status
            self._state.bump(tenant_id, normalized_name)
