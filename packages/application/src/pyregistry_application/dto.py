"""Data crossing the application boundary, as msgspec Structs."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec

__all__ = [
    "AuditQuery",
    "BlobInfo",
    "DistributionMetadata",
    "IssuedToken",
    "ListedProject",
    "Page",
    "RegistryStats",
    "SpooledUpload",
    "UploadCommand",
    "UploadResult",
]

T = TypeVar("T")


class ListedProject(msgspec.Struct, frozen=True):
    """A project as a root index lists it: its display name and its normalized name."""

    name: str
    normalized_name: str


class BlobInfo(msgspec.Struct, frozen=True):
    """What storage knows about a blob."""

    size: int
    last_modified: datetime | None = None


class DistributionMetadata(msgspec.Struct, frozen=True):
    """Core metadata read from inside an archive (METADATA or PKG-INFO)."""

    name: str
    version: str
    metadata_version: str
    raw: bytes
    requires_python: str | None = None
    summary: str | None = None
    requires_dist: tuple[str, ...] = ()


class SpooledUpload(msgspec.Struct, frozen=True):
    """An uploaded file already written to local disk, with digests computed while it arrived."""

    path: str
    filename: str
    size: int
    sha256: str
    md5: str
    blake2_256: str


class UploadCommand(msgspec.Struct, frozen=True):
    """A legacy (twine) upload: the form fields and the spooled ``content`` part."""

    tenant_slug: str
    token_secret: str | None
    fields: dict[str, list[str]]
    content: SpooledUpload | None
    source_ip: str | None = None


class UploadResult(msgspec.Struct, frozen=True):
    """What an accepted upload stored."""

    tenant_slug: str
    project: str
    version: str
    filename: str
    sha256: str
    size: int
    new_project: bool
    new_release: bool


class IssuedToken(msgspec.Struct, frozen=True):
    """A newly issued token: the secret is shown once and never stored."""

    id: str
    secret: str
    tenant_slug: str
    name: str
    scopes: list[str]
    project: str | None
    expires_at: datetime | None


class RegistryStats(msgspec.Struct, frozen=True):
    """Aggregate counts for the landing page."""

    tenants: int
    projects: int
    releases: int
    files: int
    stored_bytes: int


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of results and the total count."""

    items: list[T]
    total: int


class AuditQuery(msgspec.Struct, frozen=True):
    """Filter and paging for the audit trail."""

    tenant_id: str | None = None
    action: str | None = None
    actor: str | None = None
    limit: int = 50
    offset: int = 0
