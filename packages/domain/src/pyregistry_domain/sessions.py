"""Admin UI sessions: the cookie carries a random id, the store keeps its hash so a logout can end it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

__all__ = ["AdminSession", "hash_session_id", "new_session_id"]

_SESSION_ID_BYTES = 32


def new_session_id() -> str:
    """A fresh random session id (256 bits) for the cookie."""
    return secrets.token_urlsafe(_SESSION_ID_BYTES)


def hash_session_id(session_id: str) -> str:
    """What the store keeps instead of the id itself."""
    return hashlib.sha256(("pyregistry-admin-session:" + session_id).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AdminSession:
    """A signed-in admin: valid until ``expires_at`` unless revoked (logout) before."""

    id_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        """True when neither revoked nor expired."""
        return self.revoked_at is None and now < self.expires_at

    def revoked(self, when: datetime) -> AdminSession:
        """Return a revoked copy."""
        return replace(self, revoked_at=when)
