"""Admin accounts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.roles import ROLE_PERMISSIONS, Permission, TenantRole

__all__ = ["User", "validate_email", "validate_password"]

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs into the admin UI with a role per tenant; others see only the tenants they have a role in."""

    id: str
    email: str
    password_hash: str
    is_superadmin: bool
    created_at: datetime
    roles: Mapping[str, TenantRole] = field(default_factory=lambda: MappingProxyType({}))
    """Tenant id -> role."""

    @property
    def tenant_ids(self) -> frozenset[str]:
        """The tenants the user has a role in."""
        return frozenset(self.roles)

    def role_in(self, tenant_id: str) -> TenantRole | None:
        """The user's role in that tenant (``None`` for none; the superadmin needs none)."""
        return self.roles.get(tenant_id)

    def can_see(self, tenant_id: str) -> bool:
        """True for the superadmin and for anyone with a role in that tenant."""
        return self.is_superadmin or tenant_id in self.roles

    def may(self, tenant_id: str, permission: Permission) -> bool:
        """True when the superadmin, or when the role in that tenant allows ``permission``."""
        role = self.roles.get(tenant_id)
        return self.is_superadmin or (role is not None and permission in ROLE_PERMISSIONS[role])


def validate_email(email: str) -> str:
    """Return the lower-cased email or raise naming the problem."""
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not an email address")
    return email


def validate_password(password: str) -> str:
    """Refuse passwords that are too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password
