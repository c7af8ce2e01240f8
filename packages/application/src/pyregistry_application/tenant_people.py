"""Granting and revoking tenant roles (admin, maintainer, auditor); every change lands in the audit trail."""

from __future__ import annotations

import msgspec

from pyregistry_application.tenant_accounts import TenantAccounts
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.roles import TenantRole, parse_role
from pyregistry_domain.users import validate_email

__all__ = ["Member", "RoleChange", "TenantPeople"]


class Member(msgspec.Struct, frozen=True):
    """A person with a role in a tenant."""

    email: str
    role: TenantRole


class RoleChange(msgspec.Struct, frozen=True):
    """What a grant or revoke did: ``role`` is ``None`` after a revoke."""

    tenant: str
    email: str
    role: TenantRole | None
    previous: TenantRole | None
    account_created: bool = False


class TenantPeople(TenantAccounts):
    """The people of a tenant and their roles; the caller has already been allowed to manage them."""

    def members(self, tenant_slug: str) -> list[Member]:
        """Everyone with a role in the tenant, by email."""
        tenant = self._tenant(tenant_slug)
        return [
            Member(email=user.email, role=role)
            for user in self._users.list_tenant_members(tenant.id)
            if (role := user.role_in(tenant.id)) is not None
        ]

    def grant(
        self,
        *,
        tenant_slug: str,
        email: str,
        role: str,
        password: str | None,
        actor: str,
        source_ip: str | None = None,
    ) -> RoleChange:
        """Give ``email`` the role in the tenant (replacing another); an unknown email gets an account with
        ``password``, which is required then. An existing account keeps its password."""
        tenant = self._tenant(tenant_slug)
        email = validate_email(email)
        new_role = parse_role(role)
        self._refuse_self(email, actor)
        user = self._users.get_user_by_email(email)
        created = user is None
        if user is None:
            missing = f"{email} has no account yet: give a password (at least 8 characters)"
            user = self._new_account(email, password, missing, self._clock.now())
            self._users.add_user(user)
        if user.is_superadmin:
            raise ValidationFailed(f"{email} is the superadmin, who may do everything in every tenant")
        previous = user.role_in(tenant.id)
        self._users.set_tenant_role(user.id, tenant.id, new_role)
        details = {"role": new_role.value, "previous": previous.value if previous else ""}
        if created:
            details["account"] = "created"
        self._audit.record(
            actor=actor,
            action="role.grant",
            target=f"user:{email}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details=details,
        )
        return RoleChange(tenant=tenant.slug, email=email, role=new_role, previous=previous, account_created=created)

    def revoke(self, *, tenant_slug: str, email: str, actor: str, source_ip: str | None = None) -> RoleChange:
        """Take ``email``'s role in the tenant away (the account stays); :class:`NotFound` when there is none."""
        tenant = self._tenant(tenant_slug)
        email = validate_email(email)
        self._refuse_self(email, actor)
        user = self._users.get_user_by_email(email)
        previous = user.role_in(tenant.id) if user is not None else None
        if user is None or previous is None or not self._users.remove_tenant_role(user.id, tenant.id):
            raise NotFound(f"{email} has no role in tenant {tenant.slug!r}")
        self._audit.record(
            actor=actor,
            action="role.revoke",
            target=f"user:{email}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"role": previous.value},
        )
        return RoleChange(tenant=tenant.slug, email=email, role=None, previous=previous)

    @staticmethod
    def _refuse_self(email: str, actor: str) -> None:
        if email == actor.strip().lower():
            raise ValidationFailed("you cannot change your own role; ask another admin of this tenant")
