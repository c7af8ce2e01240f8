"""Creating tenants and their admins, and switching mirroring."""

from __future__ import annotations

from pyregistry_application.tenant_accounts import TenantAccounts
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant, new_tenant
from pyregistry_domain.users import User, validate_email

__all__ = ["TenantAdministration"]


class TenantAdministration(TenantAccounts):
    """Use cases on tenants and admin accounts."""

    def create_tenant(
        self,
        *,
        slug: str,
        display_name: str,
        admin_email: str | None,
        admin_password: str | None,
        mirroring_enabled: bool,
        actor: str,
        source_ip: str | None = None,
    ) -> Tenant:
        """Create a tenant and, when given, its first admin account (or grant an existing one)."""
        now = self._clock.now()
        tenant = new_tenant(self._ids.new_id(), slug, display_name, mirroring_enabled, now)
        if self._tenants.get_tenant_by_slug(slug) is not None:
            raise AlreadyExists(f"tenant {slug!r} already exists")
        user: User | None = None
        if admin_email:
            email = validate_email(admin_email)
            user = self._users.get_user_by_email(email)
            if user is None:
                missing = f"the admin password is missing: {email} has no account yet, so one is needed"
                user = self._new_account(email, admin_password, missing, now)
        self._tenants.add_tenant(tenant)
        if user is not None:
            if self._users.get_user(user.id) is None:
                self._users.add_user(user)
            self._users.set_tenant_role(user.id, tenant.id, TenantRole.ADMIN)
        details = {"display_name": tenant.display_name, "mirroring": str(mirroring_enabled).lower()}
        if user is not None:
            details["admin"] = user.email
        self._audit.record(
            actor=actor,
            action="tenant.create",
            target=f"tenant:{slug}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details=details,
        )
        return tenant

    def get(self, slug: str) -> Tenant:
        """The tenant with that slug, or :class:`NotFound`."""
        return self._tenant(slug)

    def list(self) -> list[Tenant]:
        """Every tenant, by slug."""
        return sorted(self._tenants.list_tenants(), key=lambda tenant: tenant.slug)

    def set_mirroring(self, slug: str, enabled: bool, *, actor: str, source_ip: str | None = None) -> Tenant:
        """Turn PyPI mirroring on or off for a tenant."""
        tenant = self.get(slug)
        self._tenants.set_tenant_mirroring(tenant.id, enabled)
        self._audit.record(
            actor=actor,
            action="tenant.mirroring." + ("enable" if enabled else "disable"),
            target=f"tenant:{slug}",
            tenant_id=tenant.id,
            source_ip=source_ip,
        )
        return self.get(slug)
