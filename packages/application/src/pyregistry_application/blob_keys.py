"""Where a release file's bytes and the objects stored beside them live in artifact storage."""

from __future__ import annotations

__all__ = ["blob_key_for", "metadata_key_for", "mirrored_blob_key_for", "provenance_key_for"]

_MIRRORED = "mirror"
"""The ``unique`` part of every mirrored file's key: one upstream file has one cached copy per tenant."""


def blob_key_for(tenant_id: str, normalized_name: str, unique: str, filename: str) -> str:
    """Storage key of a distribution file; ``unique`` keeps racing uploads apart."""
    return f"{tenant_id}/{normalized_name}/{unique}/{filename}"


def mirrored_blob_key_for(tenant_id: str, normalized_name: str, filename: str) -> str:
    """Storage key of the cached copy of a file read through from the upstream index."""
    return blob_key_for(tenant_id, normalized_name, _MIRRORED, filename)


def metadata_key_for(blob_key: str) -> str:
    """Storage key of the core metadata extracted from a distribution (PEP 658)."""
    return blob_key + ".metadata"


def provenance_key_for(blob_key: str) -> str:
    """Storage key of a file's provenance object, next to its blob."""
    return blob_key + ".provenance"
