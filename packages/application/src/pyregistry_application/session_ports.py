"""Port of admin sessions, shared by every server process on the same metadata database."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pyregistry_domain.sessions import AdminSession

__all__ = ["AdminSessionStore"]


class AdminSessionStore(Protocol):
    """Admin sessions keyed by the hash of their id."""

    def add_session(self, session: AdminSession, now: datetime) -> None:
        """Store a new session (and drop sessions that expired before ``now``)."""
        ...

    def get_session(self, id_hash: str) -> AdminSession | None: ...

    def revoke_session(self, id_hash: str, when: datetime) -> bool:
        """Mark the session revoked; ``False`` when there is no such session."""
        ...

    def revoke_user_sessions(self, user_id: str, when: datetime) -> int:
        """Revoke every session of the user still active at ``when``; return how many."""
        ...
