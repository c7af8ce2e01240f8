"""Yanking and purging releases from the admin UI, recorded in the audit trail."""

from __future__ import annotations

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.audit import AuditTrail
from pyregistry_application.blob_keys import metadata_key_for, provenance_key_for
from pyregistry_application.metadata_ports import Catalogue
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.roles import Permission
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User

__all__ = ["MAX_YANK_REASON_LENGTH", "ReleaseAdministration"]

MAX_YANK_REASON_LENGTH = 500


class ReleaseAdministration:
    """PEP 592 yank/unyank and purging files, releases and projects (metadata first, then blobs)."""

    def __init__(
        self, catalogue: Catalogue, storage: ArtifactStorage, authorization: AdminAuthorization, audit: AuditTrail
    ) -> None:
        self._catalogue = catalogue
        self._storage = storage
        self._authorization = authorization
        self._audit = audit

    def set_yanked(
        self,
        user: User,
        tenant_slug: str,
        project: str,
        version: str,
        *,
        yanked: bool,
        reason: str = "",
        source_ip: str | None = None,
    ) -> None:
        """Yank (pip then skips the release unless pinned with ``==``) or unyank a release."""
        tenant = self._authorization.tenant_for(user, tenant_slug, Permission.YANK)
        normalized = normalize_project_name(project)
        reason = " ".join(reason.split())
        if len(reason) > MAX_YANK_REASON_LENGTH:
            raise ValidationFailed(f"the yank reason is longer than {MAX_YANK_REASON_LENGTH} characters")
        if not self._catalogue.set_release_yanked(tenant.id, normalized, version, yanked, reason or None):
            raise NotFound(f"release {normalized} {version} does not exist in tenant {tenant.slug!r}")
        details = {"reason": reason} if yanked and reason else {}
        self._audit.record(
            actor=user.email,
            action="release.yank" if yanked else "release.unyank",
            target=f"{normalized}=={version}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details=details,
        )

    def purge_file(
        self, user: User, tenant_slug: str, project: str, filename: str, *, source_ip: str | None = None
    ) -> None:
        """Delete one file's record, blob, core-metadata blob and provenance object."""
        tenant = self._authorization.tenant_for(user, tenant_slug, Permission.PURGE)
        normalized = normalize_project_name(project)
        existing = self._catalogue.get_file(tenant.id, filename)
        if existing is None or existing.normalized_name != normalized:
            raise NotFound(f"file {filename!r} does not exist in project {normalized!r}")
        deleted = self._catalogue.delete_file(tenant.id, filename)
        self._purged(user, "file", filename, tenant, source_ip, [deleted] if deleted else [], existing.sha256)

    def purge_release(
        self, user: User, tenant_slug: str, project: str, version: str, *, source_ip: str | None = None
    ) -> int:
        """Delete a release with all its files; return how many files went."""
        tenant = self._authorization.tenant_for(user, tenant_slug, Permission.PURGE)
        normalized = normalize_project_name(project)
        if not any(release.version == version for release in self._catalogue.list_releases(tenant.id, normalized)):
            raise NotFound(f"release {normalized} {version} does not exist in tenant {tenant.slug!r}")
        files = self._catalogue.delete_release(tenant.id, normalized, version)
        self._purged(user, "release", f"{normalized}=={version}", tenant, source_ip, files)
        return len(files)

    def purge_project(self, user: User, tenant_slug: str, project: str, *, source_ip: str | None = None) -> int:
        """Delete a project with every release and file; return how many files went."""
        tenant = self._authorization.tenant_for(user, tenant_slug, Permission.PURGE)
        normalized = normalize_project_name(project)
        if self._catalogue.get_project(tenant.id, normalized) is None:
            raise NotFound(f"project {normalized!r} does not exist in tenant {tenant.slug!r}")
        files = self._catalogue.delete_project(tenant.id, normalized)
        self._purged(user, "project", normalized, tenant, source_ip, files)
        return len(files)

    def _purged(
        self,
        user: User,
        kind: str,
        target: str,
        tenant: Tenant,
        source_ip: str | None,
        files: list[ReleaseFile],
        sha256: str | None = None,
    ) -> None:
        """Delete the blobs (file, core metadata, provenance) of records already removed, then record the purge."""
        for file in files:
            self._storage.delete(file.blob_key)
            self._storage.delete(metadata_key_for(file.blob_key))
            self._storage.delete(provenance_key_for(file.blob_key))
        details = {"files": str(len(files))}
        if sha256:
            details["sha256"] = sha256
        self._audit.record(
            actor=user.email,
            action=f"{kind}.purge",
            target=target,
            tenant_id=tenant.id,
            source_ip=source_ip,
            details=details,
        )
