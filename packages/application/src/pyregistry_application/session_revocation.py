"""Ending every admin session of one person at once (a lost laptop, someone who left the company)."""

from __future__ import annotations

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import UserStore
from pyregistry_application.ports import Clock
from pyregistry_application.session_ports import AdminSessionStore
from pyregistry_domain.errors import NotFound
from pyregistry_domain.users import validate_email

__all__ = ["SessionRevocation"]


class SessionRevocation:
    """Revokes a person's admin sessions in every server process sharing the database; audited."""

    def __init__(self, users: UserStore, sessions: AdminSessionStore, clock: Clock, audit: AuditTrail) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock
        self._audit = audit

    def revoke(self, email: str, *, actor: str, source_ip: str | None = None) -> int:
        """Revoke the account's active sessions and return how many; :class:`NotFound` for an unknown email."""
        email = validate_email(email)
        user = self._users.get_user_by_email(email)
        if user is None:
            raise NotFound(f"there is no account {email!r}")
        count = self._sessions.revoke_user_sessions(user.id, self._clock.now())
        self._audit.record(
            actor=actor,
            action="admin.sessions.revoke",
            target=f"user:{email}",
            source_ip=source_ip,
            details={"sessions": str(count)},
        )
        return count
