"""The metadata store's ports, one small ``Protocol`` per concern; every project query is scoped by tenant id.

A backend (memory, SQLite, PostgreSQL, SQL Server) implements all of them over one state or one connection source
and hands them over together as a :class:`~pyregistry_application.metadata_backend.MetadataBackend`; a use case
takes only the ones it calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.dto import AuditQuery, ListedProject, Page, RegistryStats
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken
from pyregistry_domain.users import User

__all__ = [
    "AuditLog",
    "Catalogue",
    "CatalogueReader",
    "CatalogueWriter",
    "TenantStore",
    "TokenStore",
    "UserStore",
]


class TenantStore(Protocol):
    """Tenants: each one a separate index with its own projects, tokens and members."""

    def add_tenant(self, tenant: Tenant) -> None:
        """Record a new tenant; ``AlreadyExists`` when its id or slug is taken."""
        ...

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def get_tenant_by_slug(self, slug: str) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]:
        """Every tenant, by slug."""
        ...

    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None:
        """Turn read-through mirroring on or off; ``NotFound`` for an unknown tenant."""
        ...


class UserStore(Protocol):
    """Accounts and their roles in tenants."""

    def add_user(self, user: User) -> None:
        """Record a new user with its roles; ``AlreadyExists`` when the id or email is taken."""
        ...

    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_email(self, email: str) -> User | None: ...
    def set_user_password(self, user_id: str, password_hash: str) -> None:
        """Replace the password hash; ``NotFound`` for an unknown user."""
        ...

    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        """Give the user that role in the tenant, replacing any other; ``NotFound`` for an unknown user or tenant."""
        ...

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        """Take the user's role in the tenant away; ``False`` when there was none."""
        ...

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        """Every user with a role in the tenant, by email."""
        ...


class TokenStore(Protocol):
    """API tokens, each belonging to one tenant."""

    def add_token(self, token: ApiToken) -> None:
        """Record a new token; ``AlreadyExists`` when its id or key id is taken."""
        ...

    def get_token_by_key_id(self, key_id: str) -> ApiToken | None: ...
    def list_tokens(self, tenant_id: str) -> list[ApiToken]:
        """The tenant's tokens, newest first."""
        ...

    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool:
        """Revoke the tenant's token (keeping the first revocation time); ``False`` when the tenant has none such."""
        ...

    def touch_token(self, token_id: str, when: datetime) -> None:
        """Record when the token was last used."""
        ...


class CatalogueReader(Protocol):
    """Reads of projects, releases, files and statuses: what the index, the JSON API and the admin pages need."""

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None: ...
    def list_projects(self, tenant_id: str) -> list[Project]:
        """The tenant's projects, by normalized name."""
        ...

    def listed_projects(self, tenant_id: str, *, with_mirrored: bool) -> list[ListedProject]:
        """The names a root index lists (no order promised): every local project, and with ``with_mirrored`` the
        mirrored ones too; much cheaper than :meth:`list_projects` for a tenant of many projects."""
        ...

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        """The project's releases, oldest first."""
        ...

    def release_versions(self, tenant_id: str, normalized_name: str) -> list[str]:
        """The versions of the project's releases (no order promised): what a project page lists, without
        reading whole releases."""
        ...

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        """The project's files, each carrying its release's yank state."""
        ...

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None: ...
    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        """The project's PEP 792 status; ``ACTIVE`` when none was set."""
        ...

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        """Every status other than plain active in the tenant, by normalized name."""
        ...

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]:
        """Projects of those tenants matching ``query``, best match first."""
        ...

    def stats(self) -> RegistryStats:
        """Counts over every tenant."""
        ...


class CatalogueWriter(Protocol):
    """Changes to projects, releases, files and statuses; each call is one transaction that bumps serials."""

    def add_release_file(
        self, project: Project, release: Release, file: ReleaseFile, jobs: Sequence[PendingJob] = ()
    ) -> list[ReleaseFile]:
        """Create or update the project and release and insert the file, in one transaction.

        When the stored project is taken over by the incoming one (``Project.is_taken_over_by``), the stored
        project, its releases and files are removed in the same transaction and those files are returned so their
        blobs can be deleted. Raises ``AlreadyExists`` when the tenant already has a file of that name (after that
        removal).

        ``jobs`` are written to the durable job table in the same transaction (they commit or roll back with the
        file). A store without a job table (``MetadataBackend.job_queue is None``, memory) raises ``ValueError``
        for a non-empty ``jobs`` and changes nothing: only the durable executor makes such jobs, and it needs a
        SQL store.
        """
        ...

    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool:
        """Yank or restore a release; ``False`` when there is no such release."""
        ...

    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        """Remove one file; the removed file, or ``None`` when absent."""
        ...

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        """Remove a release and its files; the removed files."""
        ...

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        """Remove a project with its releases and files; the removed files."""
        ...

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        """Record the status (kept across mirror refreshes and purges) and bump the project's serial."""
        ...


class Catalogue(CatalogueReader, CatalogueWriter, Protocol):
    """Reads and writes of the catalogue, for the few use cases that do both."""


class AuditLog(Protocol):
    """The append-only audit trail of who did what."""

    def add_audit_event(self, event: AuditEvent) -> None: ...
    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]:
        """Matching events, newest first."""
        ...
