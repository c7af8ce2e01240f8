"""Tenants: the unit of isolation for projects, tokens and audits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.names import validate_tenant_slug

__all__ = ["Tenant", "new_tenant"]

MAX_DISPLAY_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Tenant:
    """A company, team or business unit with its own index."""

    id: str
    slug: str
    display_name: str
    mirroring_enabled: bool
    created_at: datetime


def new_tenant(id: str, slug: str, display_name: str, mirroring_enabled: bool, now: datetime) -> Tenant:
    """Build a tenant after checking its slug and display name."""
    validate_tenant_slug(slug)
    display_name = display_name.strip()
    if not display_name:
        raise ValidationFailed("tenant display name is empty")
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise ValidationFailed(f"tenant display name is longer than {MAX_DISPLAY_NAME_LENGTH} characters")
    return Tenant(id=id, slug=slug, display_name=display_name, mirroring_enabled=mirroring_enabled, created_at=now)
