"""Which tenants an admin user may see and act on."""

from __future__ import annotations

from pyregistry_application.ports import RegistryStore
from pyregistry_domain.errors import Forbidden, NotFound
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User

__all__ = ["AdminAuthorization"]


class AdminAuthorization:
    """Tenant isolation for the admin UI: tenant admins never learn about other tenants."""

    def __init__(self, store: RegistryStore) -> None:
        self._store = store

    def visible_tenants(self, user: User) -> list[Tenant]:
        """Every tenant for the superadmin, otherwise the tenants the user administers; by slug."""
        tenants = self._store.list_tenants()
        return sorted((tenant for tenant in tenants if user.can_manage(tenant.id)), key=lambda tenant: tenant.slug)

    def tenant_for(self, user: User, slug: str) -> Tenant:
        """The tenant if the user may manage it: :class:`Forbidden` otherwise (also for unknown slugs)."""
        tenant = self._store.get_tenant_by_slug(slug)
        if tenant is not None and user.can_manage(tenant.id):
            return tenant
        if user.is_superadmin:
            raise NotFound(f"tenant {slug!r} does not exist")
        raise Forbidden("you are not an admin of this tenant")

    @staticmethod
    def require_superadmin(user: User) -> None:
        """Raise :class:`Forbidden` unless the user is the superadmin."""
        if not user.is_superadmin:
            raise Forbidden("only the superadmin may do this")
