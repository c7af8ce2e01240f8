"""In-memory ``MirrorStore`` over the dictionaries of a :class:`MemoryRegistryStore`."""

from __future__ import annotations

from dataclasses import replace

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_infrastructure.stores.memory import MemoryRegistryStore

__all__ = ["MemoryMirrorStore"]


class MemoryMirrorStore:
    """Mirror writes under the memory store's lock, so readers never see half a page."""

    def __init__(self, store: MemoryRegistryStore) -> None:
        self._store = store

    def record_mirrored_project(self, project: Project, releases: list[Release], files: list[ReleaseFile]) -> None:
        store = self._store
        with store._lock:
            key = (project.tenant_id, project.normalized_name)
            existing = store._projects.get(key)
            if existing is not None and existing.origin != project.origin:
                return
            serial = store._next_serial()
            if existing is None:
                store._projects[key] = replace(project, serial=serial)
            else:
                store._projects[key] = replace(
                    existing, name=project.name, serial=serial, mirrored_at=project.mirrored_at
                )
            for release in releases:
                release_key = (release.tenant_id, release.normalized_name, release.version)
                current = store._releases.get(release_key)
                store._releases[release_key] = (
                    release
                    if current is None
                    else replace(current, yanked=release.yanked, yanked_reason=release.yanked_reason)
                )
            for file in files:
                file_key = (file.tenant_id, file.filename)
                current_file = store._files.get(file_key)
                if current_file is None:
                    store._files[file_key] = file
                elif current_file.origin == file.origin:
                    store._files[file_key] = replace(
                        current_file,
                        requires_python=file.requires_python,
                        metadata_sha256=file.metadata_sha256,
                        upstream_url=file.upstream_url,
                        has_provenance=file.has_provenance,
                    )

    def mark_cached(self, tenant_id: str, filename: str, size: int) -> None:
        with self._store._lock:
            current = self._store._files.get((tenant_id, filename))
            if current is not None and current.origin != "local":
                self._store._files[(tenant_id, filename)] = replace(current, cached=True, size=size)
