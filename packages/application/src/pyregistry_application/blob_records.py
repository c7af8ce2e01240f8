"""Which blobs a file record implies, and which stored blobs look like the registry's own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import msgspec

from pyregistry_application.blob_keys import metadata_key_for, provenance_key_for
from pyregistry_application.metadata_ports import CatalogueReader
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.projects import ProjectOrigin

__all__ = ["RecordedBlob", "blob_sha256", "recorded_blobs", "referenced_keys", "registry_keys"]

_KEY_SEPARATORS = 3


class RecordedBlob(msgspec.Struct, frozen=True):
    """A blob a file record refers to: whether it must exist, and its sha256 when the record knows it."""

    key: str
    label: str
    required: bool
    sha256: str | None = None


def recorded_blobs(
    *,
    filename: str,
    blob_key: str,
    sha256: str,
    origin: str,
    cached: bool,
    metadata_sha256: str | None,
    has_provenance: bool,
) -> list[RecordedBlob]:
    """The file itself (unless a mirrored file not downloaded yet), its core metadata (kept for local files) and its
    provenance (when recorded)."""
    local = origin == ProjectOrigin.LOCAL
    return [
        RecordedBlob(key=blob_key, label=filename, required=local or cached, sha256=sha256),
        RecordedBlob(
            key=metadata_key_for(blob_key),
            label=f"{filename} metadata",
            required=local,
            sha256=metadata_sha256,
        ),
        RecordedBlob(key=provenance_key_for(blob_key), label=f"{filename} provenance", required=has_provenance),
    ]


def referenced_keys(catalogue: CatalogueReader, tenant_ids: Iterable[str]) -> set[str]:
    """Every blob key the tenants' file records refer to."""
    keys: set[str] = set()
    for tenant_id in tenant_ids:
        for project in catalogue.list_projects(tenant_id):
            for file in catalogue.list_files(tenant_id, project.normalized_name):
                keys.update((file.blob_key, metadata_key_for(file.blob_key), provenance_key_for(file.blob_key)))
    return keys


def registry_keys(storage: ArtifactStorage, tenant_ids: Iterable[str]) -> list[str]:
    """Stored keys shaped like the registry's own (``<tenant id>/<project>/<unique>/<file>``) under the tenants."""
    return [
        key
        for tenant_id in tenant_ids
        for key in storage.list_keys(f"{tenant_id}/")
        if key.count("/") == _KEY_SEPARATORS
    ]


def blob_sha256(storage: ArtifactStorage, key: str) -> tuple[str, int]:
    """The sha256 and size of a stored blob, streamed."""
    digest = hashlib.sha256()
    size = 0
    for chunk in storage.iter_chunks(key):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
