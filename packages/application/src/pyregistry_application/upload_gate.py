"""Admitting an upload before its file is read: token, scope, tenant, then the form's project; refusals are audited."""

from __future__ import annotations

from dataclasses import dataclass

from pyregistry_application.access import TokenAccess
from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore
from pyregistry_domain.errors import DomainError, ValidationFailed
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope

__all__ = ["REFUSED_ACTION", "UploadGate", "UploadPermit"]

REFUSED_ACTION = "upload.refused"


@dataclass(frozen=True, slots=True)
class UploadPermit:
    """A token allowed to publish on a tenant; a project-scoped one still needs the form's ``name`` checked."""

    tenant: Tenant
    token: ApiToken
    source_ip: str | None

    @property
    def needs_project_name(self) -> bool:
        """True when the token is limited to one project, so the form's name must be checked before the file."""
        return self.token.project is not None

    def check_project(self, raw_name: str) -> None:
        """Raise :class:`Forbidden` when the form's project is not the one a project-scoped token is limited to."""
        self.token.check_allows(TokenScope.PUBLISH, self.tenant.id, normalize_project_name(raw_name.strip()))

    def check_file_may_start(self, form_fields: dict[str, list[str]]) -> None:
        """Raise :class:`ValidationFailed` when a project-scoped token's file part comes before the ``name`` field."""
        if self.needs_project_name and not form_fields.get("name"):
            raise ValidationFailed(
                f"this token is limited to project '{self.token.project}': send the form's 'name' field before the "
                "'content' file (twine does)"
            )


class UploadGate:
    """Decides from the URL and the Authorization header alone whether an upload may be read at all."""

    def __init__(self, access: TokenAccess, audit: AuditTrail, tenants: TenantStore) -> None:
        self._access = access
        self._audit = audit
        self._tenants = tenants

    def admit(self, tenant_slug: str, secret: str | None, source_ip: str | None) -> UploadPermit:
        """Authenticate the token and check it may publish on the tenant; a refusal is audited, then re-raised."""
        token: ApiToken | None = None
        try:
            token = self._access.authenticate(secret)
            tenant = self._access.authorize_token(token, tenant_slug, TokenScope.PUBLISH)
        except DomainError as exc:
            self.record_refusal(tenant_slug, token, exc, source_ip)
            raise
        return UploadPermit(tenant=tenant, token=token, source_ip=source_ip)

    def record_refusal(
        self,
        tenant_slug: str,
        token: ApiToken | None,
        error: DomainError,
        source_ip: str | None,
        project: str | None = None,
    ) -> None:
        """Audit one refused upload: who (token name and id when known), where, and why; never the secret."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        details = {"reason": error.message}
        if token is not None:
            details["token_id"] = token.id
        self._audit.record(
            actor=f"token:{token.name}" if token is not None else "anonymous",
            action=REFUSED_ACTION,
            target=f"{tenant_slug}/{project}" if project else tenant_slug,
            tenant_id=tenant.id if tenant is not None else None,
            source_ip=source_ip,
            details=details,
        )
