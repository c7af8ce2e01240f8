"""Setting a project's PEP 792 status, from the admin UI, the CLI or a malware block; every change is audited."""

from __future__ import annotations

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import Catalogue, CatalogueReader
from pyregistry_application.ports import Clock
from pyregistry_domain.errors import NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.project_status import ProjectStatus
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User

__all__ = ["ProjectStatusAdministration", "ProjectStatusRecorder"]


class ProjectStatusRecorder:
    """Stores a status change and records it in the audit trail as ``project.status``."""

    def __init__(self, catalogue: Catalogue, audit: AuditTrail, clock: Clock) -> None:
        self._catalogue = catalogue
        self._audit = audit
        self._clock = clock

    def change(
        self,
        tenant_id: str,
        normalized_name: str,
        status: ProjectStatus,
        *,
        actor: str,
        source_ip: str | None = None,
        details: dict[str, str] | None = None,
    ) -> ProjectStatus:
        """Record ``status``; return the status it replaced."""
        previous = self._catalogue.get_project_status(tenant_id, normalized_name)
        self._catalogue.set_project_status(tenant_id, normalized_name, status, self._clock.now())
        self._audit.record(
            actor=actor,
            action="project.status",
            target=normalized_name,
            tenant_id=tenant_id,
            source_ip=source_ip,
            details={
                "status": status.kind.value,
                "previous": previous.kind.value,
                **({"reason": status.reason} if status.reason else {}),
                **(details or {}),
            },
        )
        return previous


class ProjectStatusAdministration:
    """An admin sets the status of a project of a tenant they manage."""

    def __init__(
        self, catalogue: CatalogueReader, authorization: AdminAuthorization, recorder: ProjectStatusRecorder
    ) -> None:
        self._catalogue = catalogue
        self._authorization = authorization
        self._recorder = recorder

    def set_status(
        self, user: User, tenant_slug: str, project: str, status: str, reason: str = "", *, source_ip: str | None = None
    ) -> ProjectStatus:
        """Validate and record the status; :class:`NotFound` when the tenant has no such project."""
        tenant = self._authorization.tenant_for(user, tenant_slug, Permission.SET_PROJECT_STATUS)
        normalized = normalize_project_name(project)
        parsed = ProjectStatus.parse(status, reason)
        if self._catalogue.get_project(tenant.id, normalized) is None:
            raise NotFound(f"project {normalized!r} does not exist in tenant {tenant.slug!r}")
        self._recorder.change(tenant.id, normalized, parsed, actor=user.email, source_ip=source_ip)
        return parsed
