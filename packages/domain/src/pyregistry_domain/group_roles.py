"""Tenant roles from an identity provider's groups: one mapping in config, applied at every sign-in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyregistry_domain.roles import TenantRole

__all__ = ["GroupRole", "roles_from_groups"]

_RANK = {TenantRole.AUDITOR: 0, TenantRole.MAINTAINER: 1, TenantRole.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class GroupRole:
    """Members of ``group`` get ``role`` in the tenant ``tenant`` (a slug)."""

    group: str
    tenant: str
    role: TenantRole


def roles_from_groups(
    groups: Iterable[str], mapping: Iterable[GroupRole], tenant_ids: Mapping[str, str]
) -> dict[str, TenantRole]:
    """Tenant id -> role for someone in ``groups``; several groups on one tenant give the strongest role, and
    mappings naming a tenant that does not exist (``tenant_ids``: slug -> id) are skipped."""
    member_of = set(groups)
    roles: dict[str, TenantRole] = {}
    for entry in mapping:
        tenant_id = tenant_ids.get(entry.tenant)
        if entry.group not in member_of or tenant_id is None:
            continue
        current = roles.get(tenant_id)
        if current is None or _RANK[entry.role] > _RANK[current]:
            roles[tenant_id] = entry.role
    return roles
