"""Who the command line acts as: an operator with shell access to the registry is its superadmin; the audit trail
records the actor ``cli``."""

from __future__ import annotations

from datetime import UTC, datetime

from pyregistry_domain.users import User

__all__ = ["CLI_ACTOR", "CLI_USER"]

CLI_ACTOR = "cli"
CLI_USER = User(
    id=CLI_ACTOR, email=CLI_ACTOR, password_hash="", is_superadmin=True, created_at=datetime(1970, 1, 1, tzinfo=UTC)
)
