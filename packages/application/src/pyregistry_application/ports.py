"""Ports: what the use cases need from the outside world, as ``typing.Protocol``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pyregistry_application.dto import AuditQuery, BlobInfo, DistributionMetadata, Page, RegistryStats
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ArchiveFormat, DistributionKind, ReleaseFile
from pyregistry_domain.project_status import ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken
from pyregistry_domain.users import User

__all__ = [
    "ArtifactStorage",
    "Clock",
    "DistributionInspector",
    "IdGenerator",
    "PasswordHasher",
    "RegistryStore",
]


class Clock(Protocol):
    """Current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Unique, URL-safe identifiers."""

    def new_id(self) -> str: ...


class PasswordHasher(Protocol):
    """A memory-hard password KDF with constant-time verification."""

    def hash(self, password: str) -> str: ...

    def verify(self, encoded: str, password: str) -> bool: ...


class DistributionInspector(Protocol):
    """Opens an archive, checks it is safe and well formed, and reads its core metadata."""

    def inspect(self, path: Path, kind: DistributionKind, archive_format: ArchiveFormat) -> DistributionMetadata:
        """The core metadata; :class:`InvalidDistribution` when the content is not the promised format or unsafe."""
        ...


class ArtifactStorage(Protocol):
    """Blob storage for distribution files. Writes are atomic: a key is visible only when complete."""

    def put_file(self, key: str, source: Path) -> None:
        """Copy a local file to ``key``, streaming, visible only once complete."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small blob at ``key`` atomically."""
        ...

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store a stream of chunks at ``key`` atomically; return the byte count."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """Read a whole (small) blob; raise ``NotFound`` when absent."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """Stream a blob; raise ``NotFound`` when absent."""
        ...

    def stat(self, key: str) -> BlobInfo | None:
        """Size and modification time, or ``None`` when absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob; absent blobs are ignored."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every visible key under ``prefix``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local filesystem path for the blob when the backend has one (for zero-copy serving)."""
        ...

    def presigned_read_url(self, key: str, seconds: int) -> str | None:
        """A URL that lets anyone GET the blob for ``seconds``, or ``None`` when the backend cannot sign one."""
        ...

    def remove_incomplete(self) -> int:
        """Delete temporary blobs left by interrupted writes; return how many."""
        ...


class RegistryStore(Protocol):
    """Metadata store. Every project query is scoped by tenant id."""

    # tenants
    def add_tenant(self, tenant: Tenant) -> None: ...
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def get_tenant_by_slug(self, slug: str) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]: ...
    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None: ...

    # users
    def add_user(self, user: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_email(self, email: str) -> User | None: ...
    def set_user_password(self, user_id: str, password_hash: str) -> None: ...
    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        """Give the user that role in the tenant, replacing any other; ``NotFound`` for an unknown user or tenant."""
        ...

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        """Take the user's role in the tenant away; ``False`` when there was none."""
        ...

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        """Every user with a role in the tenant, by email."""
        ...

    # tokens
    def add_token(self, token: ApiToken) -> None: ...
    def get_token_by_key_id(self, key_id: str) -> ApiToken | None: ...
    def list_tokens(self, tenant_id: str) -> list[ApiToken]: ...
    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool: ...
    def touch_token(self, token_id: str, when: datetime) -> None: ...

    # projects, releases, files
    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None: ...
    def list_projects(self, tenant_id: str) -> list[Project]: ...
    def add_release_file(self, project: Project, release: Release, file: ReleaseFile) -> list[ReleaseFile]:
        """Create or update the project and release and insert the file, in one transaction.

        A local file takes a mirrored project over: in the same transaction the mirrored project, its releases
        and files are removed, and those files are returned so their blobs can be deleted. Raises
        ``AlreadyExists`` when the tenant already has a file of that name (after that removal).
        """
        ...

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]: ...
    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]: ...
    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None: ...
    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool: ...
    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None: ...
    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]: ...
    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]: ...
    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        """The project's PEP 792 status; ``ACTIVE`` when none was set."""
        ...

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        """Every status other than plain active in the tenant, by normalized name."""
        ...

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        """Record the status (kept across mirror refreshes and purges) and bump the project's serial."""
        ...

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]: ...
    def stats(self) -> RegistryStats: ...

    # audit
    def add_audit_event(self, event: AuditEvent) -> None: ...
    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]: ...
