"""The audit trail: per tenant for its admins, global for the superadmin; filter by action and actor, paginated."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from pyregistry_application.dto import AuditQuery
from pyregistry_application.services import RegistryServices
from pyregistry_domain.roles import Permission
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User
from pyregistry_web.admin.paging import Pager
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.session_user import admin_services, renderer
from pyregistry_web.http_types import AnyRequest

__all__ = ["global_audit", "tenant_audit"]

AUDIT_PAGE_SIZE = 50
_MAX_FILTER = 100


def _render(
    request: AnyRequest, state: State, user: User, tenant: Tenant | None, action: str, actor: str, page: int
) -> Response[Any]:
    services: RegistryServices = state.services
    action, actor = action.strip()[:_MAX_FILTER], actor.strip()[:_MAX_FILTER]
    pager = Pager.clamp(page, AUDIT_PAGE_SIZE)
    found = services.audit.query(
        AuditQuery(
            tenant_id=tenant.id if tenant else None,
            action=action or None,
            actor=actor or None,
            limit=pager.per_page,
            offset=pager.offset,
        )
    )
    slugs = {item.id: item.slug for item in services.metadata.tenants.list_tenants()}
    context = {
        "tenant": tenant,
        "events": found.items,
        "pager": Pager.clamp(page, AUDIT_PAGE_SIZE, found.total),
        "action": action,
        "actor": actor,
        "slugs": slugs,
    }
    return renderer(state).page(request, "admin/audit.html.j2", context, user=user)


@get("/audit", name="admin-audit", opt=needs(Access.SUPERADMIN), sync_to_thread=True)
def global_audit(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    action: FromQuery[str] = "",
    actor: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Response[Any]:
    """Every event (superadmin only)."""
    admin_services(state).authorization.require_superadmin(user)
    return _render(request, state, user, None, action, actor, page)


@get("/t/{tenant:str}/audit", name="admin-tenant-audit", opt=needs(Permission.VIEW), sync_to_thread=True)
def tenant_audit(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    action: FromQuery[str] = "",
    actor: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Response[Any]:
    """One tenant's events."""
    found = admin_services(state).authorization.tenant_for(user, tenant)
    return _render(request, state, user, found, action, actor, page)
