"""What tenant administration and tenant people share: their stores, and opening an account for a new member."""

from __future__ import annotations

from datetime import datetime

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore, UserStore
from pyregistry_application.ports import Clock, IdGenerator, PasswordHasher
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User, validate_password

__all__ = ["TenantAccounts"]


class TenantAccounts:
    """The tenant and user stores with what creating an account needs; a base for the tenant use cases."""

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

    def _tenant(self, slug: str) -> Tenant:
        """The tenant with that slug, or :class:`NotFound`."""
        tenant = self._tenants.get_tenant_by_slug(slug)
        if tenant is None:
            raise NotFound(f"tenant {slug!r} does not exist")
        return tenant

    def _new_account(self, email: str, password: str | None, missing: str, created_at: datetime) -> User:
        """An account (not yet stored, never superadmin) for ``email``, already validated; without a password
        :class:`ValidationFailed` says ``missing``."""
        if not password:
            raise ValidationFailed(missing)
        password_hash = self._hasher.hash(validate_password(password))
        return User(
            id=self._ids.new_id(),
            email=email,
            password_hash=password_hash,
            is_superadmin=False,
            created_at=created_at,
        )
