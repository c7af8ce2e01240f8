"""In-memory admin sessions (tests and ``database_store = "memory"``)."""

from __future__ import annotations

import threading
from datetime import datetime

from pyregistry_domain.sessions import AdminSession

__all__ = ["MemoryAdminSessionStore"]


class MemoryAdminSessionStore:
    """Sessions in a dict guarded by a lock; this process only."""

    def __init__(self) -> None:
        self._sessions: dict[str, AdminSession] = {}
        self._lock = threading.Lock()

    def add_session(self, session: AdminSession, now: datetime) -> None:
        with self._lock:
            self._sessions = {key: kept for key, kept in self._sessions.items() if kept.expires_at >= now}
            self._sessions[session.id_hash] = session

    def get_session(self, id_hash: str) -> AdminSession | None:
        with self._lock:
            return self._sessions.get(id_hash)

    def revoke_session(self, id_hash: str, when: datetime) -> bool:
        with self._lock:
            session = self._sessions.get(id_hash)
            if session is None:
                return False
            if session.revoked_at is None:
                self._sessions[id_hash] = session.revoked(when)
            return True

    def revoke_user_sessions(self, user_id: str, when: datetime) -> int:
        with self._lock:
            ended = [
                key for key, session in self._sessions.items() if session.user_id == user_id and session.is_active(when)
            ]
            for key in ended:
                self._sessions[key] = self._sessions[key].revoked(when)
            return len(ended)
