"""What the admin UI shows: dashboard, search, a tenant's projects and one project's details."""

from __future__ import annotations

from datetime import datetime

import msgspec

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.blob_keys import metadata_key_for
from pyregistry_application.dto import AuditQuery, Page, RegistryStats
from pyregistry_application.metadata_ports import AuditLog, CatalogueReader, TokenStore
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.readme_extraction import Readme, readme_from_metadata
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.security.vulnerability_model import Advisory
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import DomainError, NotFound
from pyregistry_domain.latest import latest_version
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User
from pyregistry_domain.versions import Version, parse_version

__all__ = [
    "AdminCatalog",
    "Dashboard",
    "ProjectDetail",
    "ProjectSummary",
    "ReleaseView",
    "SearchHit",
    "TenantSummary",
]

MAX_QUERY_LENGTH = 200


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, parse_version(version))
    except DomainError:
        return (0, version)


class TenantSummary(msgspec.Struct, frozen=True):
    """One row of the dashboard."""

    tenant: Tenant
    projects: int
    active_tokens: int


class Dashboard(msgspec.Struct, frozen=True):
    """The tenants a user may see, their counts and the latest audit events (with the slugs of their tenants)."""

    tenants: list[TenantSummary]
    recent: list[AuditEvent]
    stats: RegistryStats | None
    tenant_slugs: dict[str, str] = {}


class SearchHit(msgspec.Struct, frozen=True):
    """A project found by search, with its tenant's slug."""

    tenant_slug: str
    project: Project


class ProjectSummary(msgspec.Struct, frozen=True):
    """One row of a tenant's package list: the current version and when it was first uploaded."""

    project: Project
    latest_version: str | None
    released_at: datetime | None
    status: ProjectStatus = ACTIVE


class ReleaseView(msgspec.Struct, frozen=True):
    """A release and its files."""

    release: Release
    files: list[ReleaseFile]


class ProjectDetail(msgspec.Struct, frozen=True):
    """A project page: releases newest first and the README of the newest release that has one."""

    tenant: Tenant
    project: Project
    releases: list[ReleaseView]
    readme: Readme | None
    status: ProjectStatus = ACTIVE
    malware: list[Advisory] = msgspec.field(default_factory=list)
    """Known-malware advisories naming the project (they block the versions they affect)."""


class AdminCatalog:
    """Read-only queries of the admin UI, always limited to the tenants the user may see."""

    def __init__(
        self,
        tokens: TokenStore,
        catalogue: CatalogueReader,
        audit_log: AuditLog,
        storage: ArtifactStorage,
        authorization: AdminAuthorization,
        malware: MalwareBlocklist | None = None,
    ) -> None:
        self._tokens = tokens
        self._catalogue = catalogue
        self._audit_log = audit_log
        self._storage = storage
        self._malware = malware
        self._authorization = authorization

    def dashboard(self, user: User, recent_events: int = 10) -> Dashboard:
        """Tenants with counts; recent activity (global for the superadmin, per visible tenant otherwise)."""
        tenants = self._authorization.visible_tenants(user)
        now_tokens = {tenant.id: self._tokens.list_tokens(tenant.id) for tenant in tenants}
        summaries = [
            TenantSummary(
                tenant=tenant,
                projects=len(self._catalogue.list_projects(tenant.id)),
                active_tokens=sum(1 for token in now_tokens[tenant.id] if token.revoked_at is None),
            )
            for tenant in tenants
        ]
        if user.is_superadmin:
            recent = self._audit_log.list_audit_events(AuditQuery(limit=recent_events)).items
            stats: RegistryStats | None = self._catalogue.stats()
        else:
            events = [
                event
                for tenant in tenants
                for event in self._audit_log.list_audit_events(
                    AuditQuery(tenant_id=tenant.id, limit=recent_events)
                ).items
            ]
            recent = sorted(events, key=lambda event: event.occurred_at, reverse=True)[:recent_events]
            stats = None
        slugs = {tenant.id: tenant.slug for tenant in tenants}
        return Dashboard(tenants=summaries, recent=recent, stats=stats, tenant_slugs=slugs)

    def search(self, user: User, query: str, page: int = 1, per_page: int = 20) -> Page[SearchHit]:
        """Ranked project search across the user's tenants (name and summary)."""
        query = query.strip()[:MAX_QUERY_LENGTH]
        if not query:
            return Page(items=[], total=0)
        tenants = {tenant.id: tenant.slug for tenant in self._authorization.visible_tenants(user)}
        found = self._catalogue.search_projects(list(tenants), query, per_page, (max(page, 1) - 1) * per_page)
        hits = [SearchHit(tenant_slug=tenants[project.tenant_id], project=project) for project in found.items]
        return Page(items=hits, total=found.total)

    def projects(self, user: User, tenant_slug: str) -> tuple[Tenant, list[ProjectSummary]]:
        """A tenant's projects by name, each with its current version (as PyPI picks it) and that version's date."""
        tenant = self._authorization.tenant_for(user, tenant_slug)
        projects = sorted(self._catalogue.list_projects(tenant.id), key=lambda project: project.normalized_name)
        statuses = self._catalogue.list_project_statuses(tenant.id)
        return tenant, [self._summary(project, statuses.get(project.normalized_name, ACTIVE)) for project in projects]

    def _summary(self, project: Project, status: ProjectStatus) -> ProjectSummary:
        files = self._catalogue.list_files(project.tenant_id, project.normalized_name)
        versions = [
            release.version for release in self._catalogue.list_releases(project.tenant_id, project.normalized_name)
        ]
        try:
            latest = latest_version(versions, files)
        except DomainError:
            latest = None
        uploads = [file.uploaded_at for file in files if file.version == latest]
        return ProjectSummary(
            project=project, latest_version=latest, released_at=min(uploads) if uploads else None, status=status
        )

    def project(self, user: User, tenant_slug: str, project_name: str) -> ProjectDetail:
        """Releases (newest first) with their files, and the README read from stored core metadata."""
        tenant = self._authorization.tenant_for(user, tenant_slug)
        normalized = normalize_project_name(project_name)
        project = self._catalogue.get_project(tenant.id, normalized)
        if project is None:
            raise NotFound(f"project {project_name!r} does not exist in tenant {tenant.slug!r}")
        files = self._catalogue.list_files(tenant.id, normalized)
        releases = sorted(
            self._catalogue.list_releases(tenant.id, normalized),
            key=lambda release: _version_key(release.version),
            reverse=True,
        )
        views = [
            ReleaseView(
                release=release,
                files=sorted((file for file in files if file.version == release.version), key=lambda f: f.filename),
            )
            for release in releases
        ]
        return ProjectDetail(
            tenant=tenant,
            project=project,
            releases=views,
            readme=self._readme(views),
            status=self._catalogue.get_project_status(tenant.id, normalized),
            malware=self._malware.advisories(normalized) if self._malware is not None else [],
        )

    def _readme(self, releases: list[ReleaseView]) -> Readme | None:
        for view in releases:
            for file in view.files:
                if file.metadata_sha256 is None or not file.cached:
                    continue
                try:
                    readme = readme_from_metadata(self._storage.read_bytes(metadata_key_for(file.blob_key)))
                except DomainError:
                    continue
                if readme is not None:
                    return readme
        return None
