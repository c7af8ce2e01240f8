"""Creating tenants and their admins, and switching mirroring."""

from __future__ import annotations

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore, UserStore
from pyregistry_application.ports import Clock, IdGenerator, PasswordHasher
from pyregistry_domain.errors import AlreadyExists, NotFound, ValidationFailed
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant, new_tenant
from pyregistry_domain.users import User, validate_email, validate_password

__all__ = ["TenantAdministration"]


class TenantAdministration:
    """Use cases on tenants and admin accounts."""

    def __init__(
        self,
        tenants: TenantStore,
        users: UserStore,
        clock: Clock,
        ids: IdGenerator,
        hasher: PasswordHasher,
        audit: AuditTrail,
    ) -> None:
        self._tenants = tenants
        self._users = users
        self._clock = clock
        self._ids = ids
        self._hasher = hasher
        self._audit = audit

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
                if not admin_password:
                    missing = f"the admin password is missing: {email} has no account yet, so one is needed"
                    raise ValidationFailed(missing)
                password = validate_password(admin_password)
                user = User(
                    id=self._ids.new_id(),
                    email=email,
                    password_hash=self._hasher.hash(password),
                    is_superadmin=False,
                    created_at=now,
                )
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
        tenant = self._tenants.get_tenant_by_slug(slug)
        if tenant is None:
            raise NotFound(f"tenant {slug!r} does not exist")
        return tenant

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
