"""``pyregistry verify``: every file record has its blob with the right sha256, and every blob has a record."""

from __future__ import annotations

import msgspec

from pyregistry_application.blob_records import blob_sha256, recorded_blobs, registry_keys
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.distributions import ReleaseFile

__all__ = ["StorageProblem", "StorageVerifier", "VerifyReport"]


class StorageProblem(msgspec.Struct, frozen=True):
    """One inconsistency: ``kind`` is ``missing``, ``sha256-mismatch``, ``size-mismatch`` or ``orphan``."""

    kind: str
    key: str
    detail: str


class VerifyReport(msgspec.Struct, frozen=True):
    """What ``verify`` checked and found."""

    files: int
    blobs_checked: int
    problems: list[StorageProblem]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


class StorageVerifier:
    """Reads every recorded blob back, hashes it, and lists stored blobs that no record refers to."""

    def __init__(self, tenants: TenantStore, catalogue: CatalogueReader, storage: ArtifactStorage) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._storage = storage

    def run(self) -> VerifyReport:
        """Check every tenant's files, then look for orphans under the tenants' prefixes."""
        problems: list[StorageProblem] = []
        referenced: set[str] = set()
        files = checked = 0
        tenant_ids = [tenant.id for tenant in self._tenants.list_tenants()]
        for tenant_id in tenant_ids:
            for project in self._catalogue.list_projects(tenant_id):
                for file in self._catalogue.list_files(tenant_id, project.normalized_name):
                    files += 1
                    checked += self._check_file(file, referenced, problems)
        problems.extend(
            StorageProblem("orphan", key, "no file record refers to this blob")
            for key in registry_keys(self._storage, tenant_ids)
            if key not in referenced
        )
        return VerifyReport(files=files, blobs_checked=checked, problems=problems)

    def _check_file(self, file: ReleaseFile, referenced: set[str], problems: list[StorageProblem]) -> int:
        """Check the blobs of one record; return how many were found."""
        found = 0
        for blob in recorded_blobs(
            filename=file.filename,
            blob_key=file.blob_key,
            sha256=file.sha256,
            origin=file.origin,
            cached=file.cached,
            metadata_sha256=file.metadata_sha256,
            has_provenance=file.has_provenance,
        ):
            referenced.add(blob.key)
            if self._storage.stat(blob.key) is None:
                if blob.required:
                    problems.append(StorageProblem("missing", blob.key, f"no blob for {blob.label}"))
                continue
            found += 1
            if blob.sha256 is None:
                continue
            sha256, size = blob_sha256(self._storage, blob.key)
            if sha256 != blob.sha256:
                detail = f"{blob.label}: stored sha256 {sha256}, recorded {blob.sha256}"
                problems.append(StorageProblem("sha256-mismatch", blob.key, detail))
            elif blob.key == file.blob_key and size != file.size:
                detail = f"{blob.label}: stored {size} bytes, recorded {file.size}"
                problems.append(StorageProblem("size-mismatch", blob.key, detail))
        return found
