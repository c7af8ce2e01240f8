"""Does the artifact storage hold the files the metadata store records? A start-up check against a wrong root."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.distributions import ReleaseFile

__all__ = ["DEFAULT_SAMPLE_SIZE", "StorageSample", "sample_recorded_blobs"]

DEFAULT_SAMPLE_SIZE = 20


class StorageSample(msgspec.Struct, frozen=True):
    """How many recorded blobs were looked up and which of them storage does not have."""

    checked: int
    missing: list[str]

    @property
    def none_present(self) -> bool:
        """True when files are recorded but storage has not one of those sampled: the wrong storage or root."""
        return self.checked > 0 and len(self.missing) == self.checked


def _recorded_files(tenants: TenantStore, catalogue: CatalogueReader) -> Iterator[ReleaseFile]:
    for tenant in tenants.list_tenants():
        for project in catalogue.list_projects(tenant.id):
            yield from (file for file in catalogue.list_files(tenant.id, project.normalized_name) if file.cached)


def sample_recorded_blobs(
    tenants: TenantStore, catalogue: CatalogueReader, storage: ArtifactStorage, size: int = DEFAULT_SAMPLE_SIZE
) -> StorageSample:
    """Look up at most ``size`` recorded files' blobs in storage (mirrored files only once cached)."""
    checked = 0
    missing: list[str] = []
    for file in _recorded_files(tenants, catalogue):
        if checked == size:
            break
        checked += 1
        if storage.stat(file.blob_key) is None:
            missing.append(file.blob_key)
    return StorageSample(checked=checked, missing=missing)
