"""Tenant roles and what each may do in the admin UI: one permission table, per tenant."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pyregistry_domain.errors import ValidationFailed

__all__ = ["ROLE_PERMISSIONS", "Permission", "TenantRole", "parse_role"]


class TenantRole(StrEnum):
    """A user's role in one tenant."""

    ADMIN = "admin"
    MAINTAINER = "maintainer"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """An action in a tenant; the superadmin holds every one in every tenant."""

    VIEW = "tenant.view"
    """See packages, releases, files, wheel scans and the tenant's audit trail."""
    YANK = "releases.yank"
    PURGE = "releases.purge"
    MANAGE_TOKENS = "tokens.manage"
    MANAGE_PUBLISHERS = "publishers.manage"
    REFRESH_MIRROR = "mirror.refresh"
    SET_PROJECT_STATUS = "projects.status"
    """Archive, quarantine or deprecate a project (PEP 792)."""
    RELEASE_QUARANTINED = "mirror.release"
    """Serve a mirrored file that scan before serve quarantined."""
    MANAGE_SETTINGS = "tenant.settings"
    """Tenant settings such as the mirroring switch."""
    MANAGE_PEOPLE = "tenant.people"
    """Grant and revoke roles in the tenant."""


_MAINTAINER = frozenset(
    {
        Permission.VIEW,
        Permission.YANK,
        Permission.MANAGE_TOKENS,
        Permission.MANAGE_PUBLISHERS,
        Permission.REFRESH_MIRROR,
    }
)

ROLE_PERMISSIONS: Mapping[TenantRole, frozenset[Permission]] = {
    TenantRole.ADMIN: frozenset(Permission),
    TenantRole.MAINTAINER: _MAINTAINER,
    TenantRole.AUDITOR: frozenset({Permission.VIEW}),
}
"""Role -> allowed actions. A maintainer publishes, yanks and manages tokens and publishers, but neither purges
nor changes tenant settings or people; an auditor only looks."""


def parse_role(text: str) -> TenantRole:
    """The role named ``text`` or :class:`ValidationFailed` listing the valid names."""
    try:
        return TenantRole(text.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in TenantRole)
        raise ValidationFailed(f"unknown role {text!r}: choose one of {names}") from None
