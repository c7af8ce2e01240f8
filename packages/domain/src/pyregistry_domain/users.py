"""Admin accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pyregistry_domain.errors import ValidationFailed

__all__ = ["User", "validate_email", "validate_password"]

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs into the admin UI; tenant admins see only their tenants."""

    id: str
    email: str
    password_hash: str
    is_superadmin: bool
    created_at: datetime
    tenant_ids: frozenset[str] = frozenset()

    def can_manage(self, tenant_id: str) -> bool:
        """True for the superadmin and for admins of that tenant."""
        return self.is_superadmin or tenant_id in self.tenant_ids


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
