"""Which tenants an admin user may see and what they may do there."""

from __future__ import annotations

from pyregistry_application.metadata_ports import TenantStore
from pyregistry_domain.errors import Forbidden, NotFound
from pyregistry_domain.roles import Permission
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User

__all__ = ["AdminAuthorization", "refusal"]


def refusal(user: User, tenant: Tenant, permission: Permission) -> str:
    """The one-line reason a signed-in user with some role in ``tenant`` may not do ``permission`` there."""
    role = user.role_in(tenant.id)
    return f"your role in {tenant.slug} ({role}) does not allow {permission.value}"


class AdminAuthorization:
    """Tenant isolation and the role table for the admin UI: users never learn about tenants they have no role in."""

    def __init__(self, tenants: TenantStore) -> None:
        self._tenants = tenants

    def visible_tenants(self, user: User) -> list[Tenant]:
        """Every tenant for the superadmin, otherwise the tenants the user has a role in; by slug."""
        tenants = self._tenants.list_tenants()
        return sorted((tenant for tenant in tenants if user.can_see(tenant.id)), key=lambda tenant: tenant.slug)

    def tenant_for(self, user: User, slug: str, permission: Permission = Permission.VIEW) -> Tenant:
        """The tenant if the user's role there allows ``permission``: :class:`Forbidden` otherwise (also for
        unknown slugs, except for the superadmin, who gets :class:`NotFound`)."""
        tenant = self._tenants.get_tenant_by_slug(slug)
        if tenant is not None and user.may(tenant.id, permission):
            return tenant
        if user.is_superadmin:
            raise NotFound(f"tenant {slug!r} does not exist")
        if tenant is not None and user.can_see(tenant.id):
            raise Forbidden(refusal(user, tenant, permission))
        raise Forbidden("you have no role in this tenant")

    @staticmethod
    def require_superadmin(user: User) -> None:
        """Raise :class:`Forbidden` unless the user is the superadmin."""
        if not user.is_superadmin:
            raise Forbidden("only the superadmin may do this")
