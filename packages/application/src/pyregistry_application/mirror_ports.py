"""Ports and value objects for read-through mirroring of an upstream PEP 503/691 index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

import msgspec

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_domain.projects import Project, Release

__all__ = [
    "MIRROR_ACTOR",
    "MirrorStore",
    "UpstreamFile",
    "UpstreamIndex",
    "UpstreamLocationRefused",
    "UpstreamProject",
    "UpstreamStream",
]

MIRROR_ACTOR = "mirror"
"""Who the audit trail and file records name for what the mirror records and quarantines."""


class UpstreamLocationRefused(UpstreamUnavailable):
    """The upstream pointed at a URL the mirror does not fetch from (another origin, ``file://``, ...); retrying
    cannot help."""


class UpstreamFile(msgspec.Struct, frozen=True):
    """One file as the upstream project page lists it; ``url`` is absolute and carries no credentials;
    ``upload_time`` is the page's PEP 700 ``upload-time`` (``None`` when it gave none)."""

    filename: str
    url: str
    sha256: str
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    metadata_sha256: str | None = None
    size: int | None = None
    upload_time: datetime | None = None
    provenance_url: str | None = None
    """Where the upstream serves the file's PEP 740 provenance object (PEP 740 ``provenance`` / ``data-provenance``)."""


class UpstreamProject(msgspec.Struct, frozen=True):
    """An upstream project page."""

    name: str
    files: list[UpstreamFile]


class UpstreamStream(msgspec.Struct, frozen=True):
    """An open upstream download: its announced length (if any) and its body chunks."""

    size: int | None
    chunks: Iterator[bytes]


class UpstreamIndex(Protocol):
    """A remote Simple Repository API; raises ``NotFound`` on 404 and ``UpstreamUnavailable`` otherwise."""

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        """The upstream project page (JSON preferred, HTML fallback), size-capped, with retries."""
        ...

    def fetch_bytes(self, url: str) -> bytes:
        """A small document such as a PEP 658 metadata file, capped at the metadata size limit."""
        ...

    def open_file(self, url: str) -> AbstractContextManager[UpstreamStream]:
        """Open a distribution download; the stream raises ``UpstreamUnavailable`` past the artifact size cap."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class MirrorStore(Protocol):
    """Writes the store needs for mirrored projects; every call is tenant-scoped."""

    def record_mirrored_project(self, project: Project, releases: list[Release], files: list[ReleaseFile]) -> None:
        """Upsert a mirrored project, its releases (yank state) and files in one transaction.

        Files already recorded keep their ``cached`` flag, size and blob key; new files are added.
        """
        ...

    def mark_cached(self, tenant_id: str, filename: str, size: int) -> None:
        """Record that a mirrored file's verified bytes are now in storage (a local file of that name is left alone)."""
        ...
