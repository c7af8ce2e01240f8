"""In-memory ``MirrorStore`` over a :class:`MemoryState`."""

from __future__ import annotations

from dataclasses import replace

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryMirrorStore"]


class MemoryMirrorStore:
    """Mirror writes under the memory state's lock, so readers never see half a page."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def record_mirrored_project(self, project: Project, releases: list[Release], files: list[ReleaseFile]) -> None:
        store = self._state
        with store.lock:
            key = (project.tenant_id, project.normalized_name)
            existing = store.projects.get(key)
            if existing is not None and existing.origin != project.origin:
                return
            serial = store.next_serial()
            if existing is None:
                store.projects[key] = replace(project, serial=serial)
            else:
                store.projects[key] = replace(
                    existing, name=project.name, serial=serial, mirrored_at=project.mirrored_at
                )
            for release in releases:
                release_key = (release.tenant_id, release.normalized_name, release.version)
                current = store.releases.get(release_key)
                store.releases[release_key] = (
                    release
                    if current is None
                    else replace(current, yanked=release.yanked, yanked_reason=release.yanked_reason)
                )
            for file in files:
                file_key = (file.tenant_id, file.filename)
                current_file = store.files.get(file_key)
                if current_file is None:
                    store.files[file_key] = file
                elif current_file.origin == file.origin:
                    store.files[file_key] = replace(
                        current_file,
                        requires_python=file.requires_python,
                        metadata_sha256=file.metadata_sha256,
                        upstream_url=file.upstream_url,
                        has_provenance=file.has_provenance,
                    )

    def mark_cached(self, tenant_id: str, filename: str, size: int) -> None:
        with self._state.lock:
            current = self._state.files.get((tenant_id, filename))
            if current is not None and current.is_mirrored:
                self._state.files[(tenant_id, filename)] = replace(current, cached=True, size=size)
